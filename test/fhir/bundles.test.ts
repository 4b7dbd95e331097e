import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, enrollSeedPeople } from '../support/seed-scenario.js';

describe.each(BACKENDS)('batch and transaction Bundles (%s)', (backend) => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    people = await enrollSeedPeople(net);
  });
  afterAll(async () => {
    await net?.stop();
  });

  const consentCount = async () => (await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `Consent?patient=Patient/${people.patientId}`)).body!.total as number;

  it('a transaction commits its ledger writes as one ledger transaction', async () => {
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: consentBody(people.patientId, 'Practitioner/ryu', ['lab-results']), request: { method: 'POST', url: 'Consent' } },
        { resource: consentBody(people.patientId, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent' } },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body!.type).toBe('transaction-response');
    expect(res.body!.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201', '201']);
    const txIds = res.body!.entry.map((e: { resource: { extension: { url: string; valueString?: string }[] } }) => e.resource.extension.find((x) => /ledger-tx-id/.test(x.url))?.valueString);
    expect(txIds[0]).toBeDefined();
    expect(txIds[0]).toBe(txIds[1]);
  });

  it('a transaction the ledger refuses in part changes nothing at all', async () => {
    const before = await consentCount();
    const revoked = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['imaging']));
    await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${revoked.body!.id}`);
    const height = net.peer.peer.height();
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: consentBody(people.patientId, 'Practitioner/park', ['treatment-plan']), request: { method: 'POST', url: 'Consent' } },
        // the chaincode refuses to change a revoked permission
        { resource: { ...consentBody(people.patientId, 'Practitioner/ryu', ['imaging', 'lab-results']), id: revoked.body!.id }, request: { method: 'PUT', url: `Consent/${revoked.body!.id}` } },
      ],
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body!.resourceType).toBe('OperationOutcome');
    expect(net.peer.peer.height()).toBe(height);
    expect(await consentCount()).toBe(before + 1); // only the revoked one from this test's setup
  });

  it('a batch answers each entry on its own', async () => {
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: consentBody(people.patientId, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent' } },
        { request: { method: 'GET', url: 'Consent/no-such-consent' } },
        { resource: consentBody(people.patientId, 'Practitioner/park', ['astrology']), request: { method: 'POST', url: 'Consent' } },
        { request: { method: 'GET', url: `Consent?patient=Patient/${people.patientId}&_count=1` } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body!.type).toBe('batch-response');
    expect(res.body!.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201', '404', '422', '200']);
    expect(res.body!.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(res.body!.entry[3].resource.type).toBe('searchset');
  });

  it('refuses what is not a batch or transaction, and database writes inside a transaction', async () => {
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', { resourceType: 'Bundle', type: 'collection' })).status).toBe(400);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', { resourceType: 'Patient' })).status).toBe(400);
    const mixed = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Organization', name: 'x' }, request: { method: 'POST', url: 'Organization' } }],
    });
    expect([404, 422]).toContain(mixed.status);
  });
});
