import { beforeAll, describe, expect, it } from 'vitest';
import { ok, TestNetwork } from './harness.js';
import { A, B, cast, expectFailure, KEY, LEE, patientRecord, RYU, seeded, T0, iso, type Cast } from './fixtures.js';

let c: Cast;
beforeAll(async () => {
  c = await cast();
});

describe('RegisterPatient', () => {
  it('lets a patient register their own pseudonym; their MSP becomes the home MSP', async () => {
    const net = new TestNetwork();
    const r = await net.submit(c.p1, 'RegisterPatient', [patientRecord('p1')], { at: T0 });
    const record = ok(r);
    expect(record).toEqual({ pseudonym: 'p1', homeMsp: A, encryptionKey: KEY, status: 'active', createdAt: iso(T0) });
    expect(r.event?.name).toBe('PatientRegistered');
    expect(JSON.parse(r.event!.payload)).toEqual({ patient: record });
    expect(ok(await net.evaluate(c.ryu, 'GetPatient', ['p1']))).toEqual(record);
  });

  it('lets an admin enroll a patient for the admin’s hospital', async () => {
    const net = new TestNetwork();
    expect(ok(await net.submit(c.adminB, 'RegisterPatient', [patientRecord('p9')])).homeMsp).toBe(B);
  });

  it('refuses a patient registering another pseudonym, practitioners and role-less members', async () => {
    const net = new TestNetwork();
    expectFailure(await net.submit(c.p2, 'RegisterPatient', [patientRecord('p1')]), 'Permission denied');
    expectFailure(await net.submit(c.ryu, 'RegisterPatient', [patientRecord('p1')]), 'Permission denied');
    expectFailure(await net.submit(c.nobody, 'RegisterPatient', [patientRecord('p1')]), 'Permission denied');
    expectFailure(await net.evaluate(c.p1, 'GetPatient', ['p1']), 'Not found', 'patient p1');
  });

  it('lets the patient or a home admin replace the encryption key, keeping createdAt', async () => {
    const net = await seeded(c);
    const before = ok(await net.evaluate(c.p1, 'GetPatient', ['p1']));
    const newKey = { ...KEY, x: 'rotated' };
    const after = ok(await net.submit(c.p1, 'RegisterPatient', [patientRecord('p1', newKey)]));
    expect(after).toEqual({ ...before, encryptionKey: newKey });
    ok(await net.submit(c.adminA, 'RegisterPatient', [patientRecord('p1', KEY)]));
    expect(ok(await net.evaluate(c.p1, 'GetPatient', ['p1'])).encryptionKey).toEqual(KEY);
  });

  it('refuses updates from another hospital, even with a certificate claiming the same pseudonym', async () => {
    const net = await seeded(c);
    expectFailure(await net.submit(c.adminB, 'RegisterPatient', [patientRecord('p1')]), 'Permission denied', `admin of ${A}`);
    expectFailure(await net.submit(c.p1FromB, 'RegisterPatient', [patientRecord('p1')]), 'Permission denied');
  });

  it('validates the record: public JWK only, no unknown fields, valid pseudonym', async () => {
    const net = new TestNetwork();
    const cases: [string, string][] = [
      [patientRecord('p1', { ...KEY, d: 'secret' }), 'private member "d"'],
      [patientRecord('p1', { crv: 'P-256' }), 'kty'],
      [JSON.stringify({ pseudonym: 'p1', encryptionKey: KEY, status: 'erased' }), 'unknown field "status"'],
      [patientRecord('p/1'), 'pseudonym'],
      ['{not json', 'not valid JSON'],
      ['[]', 'must be a JSON object'],
    ];
    for (const [arg, fragment] of cases) {
      expectFailure(await net.submit(c.p1, 'RegisterPatient', [arg]), 'Invalid argument', fragment);
    }
  });
});

describe('RegisterPractitioner', () => {
  it('is done by an admin of the practitioner’s own hospital and published with the key', async () => {
    const net = new TestNetwork();
    const r = await net.submit(c.adminA, 'RegisterPractitioner', [JSON.stringify({ id: RYU, npi: '1234567893', encryptionKey: KEY })], { at: T0 });
    const record = ok(r);
    expect(record).toEqual({ id: RYU, msp: A, npi: '1234567893', encryptionKey: KEY, verifiedAt: iso(T0) });
    expect(r.event).toEqual({ name: 'PractitionerRegistered', payload: JSON.stringify({ practitioner: record }) });
    expect(ok(await net.evaluate(c.lee, 'GetPractitioner', [RYU]))).toEqual(record);
  });

  it('refuses other hospitals’ admins, non-admins and malformed records', async () => {
    const net = new TestNetwork();
    const rec = (over: Record<string, unknown>) => JSON.stringify({ id: LEE, npi: '1245319599', encryptionKey: KEY, ...over });
    expectFailure(await net.submit(c.adminA, 'RegisterPractitioner', [rec({})]), 'Permission denied', `${A}/Practitioner/`);
    expectFailure(await net.submit(c.lee, 'RegisterPractitioner', [rec({})]), 'Permission denied');
    expectFailure(await net.submit(c.adminB, 'RegisterPractitioner', [rec({ npi: '12345' })]), 'Invalid argument', 'npi');
    expectFailure(await net.submit(c.adminB, 'RegisterPractitioner', [rec({ id: 'lee' })]), 'Invalid argument', 'Practitioner');
    expectFailure(await net.evaluate(c.lee, 'GetPractitioner', [LEE]), 'Not found');
  });
});

describe('RegisterOrganization', () => {
  it('publishes the key an organization grant is encrypted for; only that hospital’s admin writes it', async () => {
    const net = new TestNetwork();
    const rec = (over: Record<string, unknown> = {}) => JSON.stringify({ msp: B, encryptionKey: KEY, ...over });
    const r = await net.submit(c.adminB, 'RegisterOrganization', [rec()], { at: T0 });
    const record = ok(r);
    expect(record).toEqual({ msp: B, encryptionKey: KEY, registeredAt: iso(T0) });
    expect(r.event).toEqual({ name: 'OrganizationRegistered', payload: JSON.stringify({ organization: record }) });
    expect(ok(await net.evaluate(c.ryu, 'GetOrganization', [B]))).toEqual(record);
    const rotated = { ...KEY, x: 'rotated' };
    expect(ok(await net.submit(c.adminB, 'RegisterOrganization', [rec({ encryptionKey: rotated })])).encryptionKey).toEqual(rotated);

    expectFailure(await net.submit(c.adminA, 'RegisterOrganization', [rec()]), 'Permission denied', `${A}`);
    expectFailure(await net.submit(c.lee, 'RegisterOrganization', [rec()]), 'Permission denied');
    expectFailure(await net.submit(c.adminB, 'RegisterOrganization', [rec({ encryptionKey: { ...KEY, d: 'secret' } })]), 'Invalid argument', 'private member');
    expectFailure(await net.submit(c.adminB, 'RegisterOrganization', [rec({ name: 'B' })]), 'Invalid argument', 'unknown field');
    expectFailure(await net.evaluate(c.lee, 'GetOrganization', [A]), 'Not found');
  });

  it('also publishes the P-256 key that verifies what the hospital shares with other hospitals', async () => {
    const net = new TestNetwork();
    const signingKey = { kty: 'EC', crv: 'P-256', x: 'sx', y: 'sy' };
    const rec = (over: Record<string, unknown> = {}) => JSON.stringify({ msp: B, encryptionKey: KEY, signingKey, ...over });
    const record = ok(await net.submit(c.adminB, 'RegisterOrganization', [rec()], { at: T0 }));
    expect(record).toEqual({ msp: B, encryptionKey: KEY, signingKey, registeredAt: iso(T0) });
    expect(ok(await net.evaluate(c.ryu, 'GetOrganization', [B]))).toEqual(record);
    expectFailure(await net.submit(c.adminB, 'RegisterOrganization', [rec({ signingKey: { ...signingKey, d: 'secret' } })]), 'Invalid argument', 'private member');
    expectFailure(await net.submit(c.adminB, 'RegisterOrganization', [rec({ signingKey: { kty: 'RSA', n: 'n', e: 'AQAB' } })]), 'Invalid argument', 'P-256');
    expectFailure(await net.submit(c.adminB, 'RegisterOrganization', [rec({ signingKey: { kty: 'EC', crv: 'P-384', x: 'x', y: 'y' } })]), 'Invalid argument', 'P-256');
  });
});
