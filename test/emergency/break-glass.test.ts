import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';

const reason = (text: string) => ({ resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: text }] });

describe('break-glass: Patient/<id>/$break-glass', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let ortiz: string;
  let doc: { id: string; bytes: Buffer; meta: DocumentMeta };
  const permissionsOf = async () => (await net.a.db.query<{ id: string }>('SELECT id FROM ledger_permissions WHERE patient = $1 ORDER BY id', [people.pseudonym])).rows.map((r) => r.id);
  const breakGlass = (token: string, body: unknown, patient = people.pseudonym) => fhir(net.b.baseUrl, token, 'POST', `Patient/${patient}/$break-glass`, body);

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    await net.b.enrollment.enrollPractitioner({ username: 'ortiz', password: 'pw-ortiz', id: 'ortiz', given: 'Rosa', family: 'Ortiz', npi: '1003000126', emergency: true });
    ortiz = await net.b.tokenFor('ortiz');
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical'], ['access', 'correct']))).status).toBe(201);
    const bytes = Buffer.from('%PDF-1.4 history and physical');
    const res = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', documentBody(people.patientId, 'history-physical', '34117-2', { data: bytes, contentType: 'application/pdf' }));
    expect(res.status, res.text).toBe(201);
    doc = { id: res.body!.id, bytes, meta: (await net.a.db.query<{ record: DocumentMeta }>('SELECT record FROM ledger_documents WHERE id = $1', [res.body!.id])).rows[0].record };
    await net.b.ledger.client.projection.waitForBlock(net.a.ledger.client.projection.height() - 1);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('without a reason: 400, and nothing is written', async () => {
    const before = await permissionsOf();
    for (const body of [{ resourceType: 'Parameters' }, reason('   '), { resourceType: 'Parameters', parameter: [{ name: 'why', valueString: 'x' }] }, { resourceType: 'Patient' }]) {
      const res = await breakGlass(ortiz, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body!.resourceType).toBe('OperationOutcome');
    }
    expect(await permissionsOf()).toEqual(before);
  });

  it('a practitioner without emergency=true, a patient, an admin and an app without Consent scopes get 403, and nothing is written', async () => {
    const before = await permissionsOf();
    await net.b.enrollment.enrollAdmin('admin-b', 'pw-admin-b', 'Hospital B administrator');
    const callers = [
      { who: 'Dr. Lee (no emergency attribute)', node: net.b, token: people.tokens.lee, patient: people.pseudonym },
      { who: 'an admin', node: net.b, token: await net.b.tokenFor('admin-b'), patient: people.pseudonym },
      { who: 'the patient herself', node: net.a, token: people.tokens.patient, patient: people.patientId },
      { who: 'Dr. Ortiz through an app whose scopes do not cover Consent', node: net.b, token: await net.b.tokenFor('ortiz', 'user/DocumentReference.rs user/Binary.rs'), patient: people.pseudonym },
    ];
    for (const c of callers) {
      const res = await fhir(c.node.baseUrl, c.token, 'POST', `Patient/${c.patient}/$break-glass`, reason('I just want to look'));
      expect(res.status, c.who).toBe(403);
    }
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'GET', `Binary/${doc.id}`)).status).toBe(404);
    expect(await permissionsOf()).toEqual(before);
  });

  it('with emergency=true and a reason: a 4-hour BTG read, flagged on the ledger; the first download works at once and is logged as ETREAT', async () => {
    const res = await breakGlass(ortiz, reason('unconscious in the emergency department'));
    expect(res.status, res.text).toBe(201);
    const consent = res.body!;
    expect(consent.resourceType).toBe('Consent');
    expect(consent.provision.purpose[0].code).toBe('BTG');
    expect(Date.parse(consent.provision.period.end) - Date.parse(consent.provision.period.start)).toBe(4 * 3600_000);
    expect(res.headers.get('warning')).toBeNull();
    const { rows } = await net.b.db.query<{ emergency: boolean; purpose: string; record: { reason: string; grantee: { id: string } } }>('SELECT emergency, purpose, record FROM ledger_permissions WHERE id = $1', [consent.id]);
    expect(rows[0]).toMatchObject({ emergency: true, purpose: 'BTG', record: { reason: 'unconscious in the emergency department', grantee: { id: 'HospitalBMSP/Practitioner/ortiz' } } });

    const download = await fetch(`${net.b.baseUrl}/Binary/${doc.id}`, { headers: { authorization: `Bearer ${ortiz}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(doc.bytes)).toBe(true);
    const logged = await net.b.db.query<{ purpose: string }>(`SELECT purpose FROM read_access_log WHERE username = 'ortiz' AND action = 'download'`);
    expect(logged.rows.map((r) => r.purpose)).toEqual(['ETREAT']);

    // the patient sees it at home: as a Consent, and in her history
    await net.a.ledger.client.projection.waitForBlock(net.b.ledger.client.projection.height() - 1);
    const consents = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `Consent/${consent.id}`);
    expect(consents.status).toBe(200);
    expect(consents.body!.provision.purpose[0].code).toBe('BTG');
    const history = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `AuditEvent?patient=Patient/${people.patientId}&subtype=EmergencyAccess`);
    expect(history.body!.total).toBe(1);
    expect(history.body!.entry[0].resource.agent[0].who.reference).toBe(`${net.b.baseUrl}/Practitioner/ortiz`);
  });
});
