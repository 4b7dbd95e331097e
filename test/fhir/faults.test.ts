import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../documents/helpers.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';

describe('faults: blob store down, ledger unreachable', () => {
  let s3: LocalS3;
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;

  beforeAll(async () => {
    s3 = await startLocalS3('consentry-faults');
    net = await startTestNetwork({ blobStore: s3.store({ maxAttempts: 1 }), maxLagMs: 800 });
    people = await enrollSeedPeople(net);
    const write = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['lab-results'], ['access', 'correct']));
    expect(write.status).toBe(201);
  });
  afterAll(async () => {
    await net?.stop().catch(() => undefined);
    await s3?.stop().catch(() => undefined);
  });

  it('documents go to S3 encrypted, and come back decrypted', async () => {
    const bytes = Buffer.from('{"resourceType":"Bundle","type":"collection"}');
    const created = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', documentBody(people.patientId, 'lab-results', '11502-2', { data: bytes, contentType: 'application/fhir+json' }));
    expect(created.status, created.text).toBe(201);
    const res = await fetch(`${net.a.baseUrl}/Binary/${created.body!.id}`, { headers: { authorization: `Bearer ${people.tokens.ryu}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('blob store down: document create answers 503 and the ledger is unchanged', async () => {
    await s3.stop();
    const height = net.peer.peer.height();
    const res = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', documentBody(people.patientId, 'lab-results', '11502-2', { data: Buffer.from('x'), contentType: 'text/plain' }));
    expect(res.status, res.text).toBe(503);
    expect(res.body!.resourceType).toBe('OperationOutcome');
    expect(net.peer.peer.height()).toBe(height);
  });

  it('ledger unreachable: 503 and nothing served', async () => {
    await net.peer.stop();
    await new Promise((r) => setTimeout(r, 1_200));
    for (const path of ['DocumentReference', `Consent?patient=Patient/${people.patientId}`, 'DocumentReference/any-id']) {
      const res = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', path);
      expect(res.status, path).toBe(503);
      expect(res.body!.resourceType).toBe('OperationOutcome');
      expect(res.text).not.toMatch(/entry/);
    }
    expect((await fetch(`${net.a.url}/health`)).status).toBe(503);
  });
});
