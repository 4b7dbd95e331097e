import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok, type TestNetwork } from './harness.js';
import { cast, decision, document, ERIN, expectFailure, grantee, HOUR, iso, LEE, patientRecord, permission, RYU, seeded, T0, type Cast } from './fixtures.js';

let c: Cast;
let net: TestNetwork;
beforeAll(async () => {
  c = await cast();
});
beforeEach(async () => {
  net = await seeded(c);
});

const erin = grantee('practitioner', ERIN);

describe('EmergencyAccess (break-glass)', () => {
  it('is refused without the emergency attribute, and to non-practitioners', async () => {
    expectFailure(await net.submit(c.lee, 'EmergencyAccess', ['p1', 'unconscious, allergies unknown']), 'Permission denied', 'emergency=true');
    expectFailure(await net.submit(c.adminA, 'EmergencyAccess', ['p1', 'x']), 'Permission denied');
    expectFailure(await net.submit(c.p1, 'EmergencyAccess', ['p1', 'x']), 'Permission denied');
  });

  it('creates a flagged 4-hour read on every category but patient-private, visible to the patient', async () => {
    const at = T0 + HOUR;
    const r = await net.submit(c.erin, 'EmergencyAccess', ['p1', 'unconscious, allergies unknown'], { at });
    const p = ok(r);
    expect(p).toEqual({
      id: `btg-${r.txId.slice(0, 32)}`,
      patient: 'p1',
      grantee: { kind: 'practitioner', id: ERIN },
      rights: ['read'],
      categories: ['*'],
      from: iso(at),
      to: iso(at + 4 * HOUR),
      purpose: 'BTG',
      emergency: true,
      reason: 'unconscious, allergies unknown',
      grantedBy: ERIN,
      timestamp: iso(at),
      status: 'active',
      version: 1,
    });
    expect(r.event).toEqual({ name: 'EmergencyAccess', payload: JSON.stringify({ permission: p }) });

    expect((await decision(net, c.erin, 'p1', erin, 'read', 'imaging', iso(at + 4 * HOUR - 1))).allowed).toBe(true);
    expect((await decision(net, c.erin, 'p1', erin, 'read', 'imaging', iso(at + 4 * HOUR))).allowed).toBe(false);
    expect((await decision(net, c.erin, 'p1', erin, 'read', 'patient-private', iso(at))).allowed).toBe(false);
    expect((await decision(net, c.erin, 'p1', erin, 'write', 'imaging', iso(at))).allowed).toBe(false);

    const seen = ok(await net.evaluate(c.p1, 'ListPermissions', ['p1']));
    expect(seen).toEqual([p]);
    expectFailure(await net.submit(c.p1, 'UpdatePermission', [permission({ id: p.id, grantee: { kind: 'practitioner', id: ERIN } })]), 'Invalid argument', 'break-glass');
    expect(ok(await net.submit(c.p1, 'RevokePermission', ['p1', p.id])).status).toBe('revoked');
  });

  it('needs a reason and a registered, active patient', async () => {
    expectFailure(await net.submit(c.erin, 'EmergencyAccess', ['p1', '  ']), 'Invalid argument', 'reason');
    expectFailure(await net.submit(c.erin, 'EmergencyAccess', ['p5', 'x']), 'Not found', 'patient p5');
  });
});

describe('ErasePatient', () => {
  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'ryu', grantee: { kind: 'practitioner', id: RYU }, rights: ['read', 'write'], categories: ['*'] })]));
    ok(await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab' })]));
    ok(await net.submit(c.ryu, 'AddDocument', [document({ id: 'dose', category: 'radiation-dose' })]));
    ok(await net.submit(c.ryu, 'SupersedeDocument', ['p1', 'lab', document({ id: 'lab-v2' })]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission()]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'old', to: '2025-01-01T06:00:00Z' })]));
    ok(await net.submit(c.p1, 'RevokePermission', ['p1', 'old']));
  });

  it('ends every permission, erases every document and the patient record, in one event', async () => {
    const at = T0 + 2 * HOUR;
    const r = await net.submit(c.p1, 'ErasePatient', ['p1'], { at });
    const out = ok(r);
    expect(r.event?.name).toBe('PatientErased');
    expect(JSON.parse(r.event!.payload)).toEqual(out);
    expect(out.patient).toMatchObject({ pseudonym: 'p1', status: 'erased' });
    expect(out.permissions.map((p: { id: string }) => p.id)).toEqual(['perm-lee', 'ryu']);
    expect(out.documents.map((d: { id: string }) => d.id)).toEqual(['dose', 'lab', 'lab-v2']);

    const permissions = ok(await net.evaluate(c.p1, 'ListPermissions', ['p1']));
    for (const p of permissions) {
      expect(p.status).toBe('revoked');
      expect(p.to <= iso(at)).toBe(true);
    }
    expect(permissions.find((p: { id: string }) => p.id === 'perm-lee').to).toBe(iso(at));
    for (const d of ok(await net.evaluate(c.p1, 'ListDocuments', ['p1']))) expect(d.status).toBe('erased');

    expect(await decision(net, c.lee, 'p1', grantee('practitioner', LEE), 'read', 'lab-results', iso(at - 1))).toEqual({
      allowed: false,
      reason: 'patient is erased',
    });
    expect((await decision(net, c.p1, 'p1', grantee('patient', 'p1'), 'read', 'lab-results')).allowed).toBe(false);
  });

  it('leaves the patient unable to grant, add or register again', async () => {
    ok(await net.submit(c.p1, 'ErasePatient', ['p1']));
    expectFailure(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'again' })]), 'Invalid argument', 'erased');
    expectFailure(await net.submit(c.p1, 'AddDocument', [document()]), 'Invalid argument', 'erased');
    expectFailure(await net.submit(c.p1, 'RegisterPatient', [patientRecord('p1')]), 'Invalid argument', 'erased');
    expectFailure(await net.submit(c.erin, 'EmergencyAccess', ['p1', 'x']), 'Invalid argument', 'erased');
    expectFailure(await net.submit(c.p1, 'ErasePatient', ['p1']), 'Invalid argument', 'already erased');
  });

  it('may be done by an admin of the home hospital, by no other', async () => {
    expectFailure(await net.submit(c.adminB, 'ErasePatient', ['p1']), 'Permission denied');
    expectFailure(await net.submit(c.ryu, 'ErasePatient', ['p1']), 'Permission denied');
    expectFailure(await net.submit(c.p1FromB, 'ErasePatient', ['p1']), 'Permission denied');
    expectFailure(await net.submit(c.p2, 'ErasePatient', ['p1']), 'Permission denied');
    expect(ok(await net.submit(c.adminA, 'ErasePatient', ['p1'])).patient.status).toBe('erased');
  });
});
