import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { CompactSign, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import { NoKeyError, sealFor, unwrapDataKey } from '../../server/documents/index.js';
import { SharedDemographics } from '../../server/repositories/shared-demographics.js';
import { vaultContext } from '../../server/membership/key-vault.js';
import type { HospitalNode } from '../../server/node.js';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, enrollSeedPeople, uploadAsRyu } from '../support/seed-scenario.js';

const LEE = 'HospitalBMSP/Practitioner/lee';

/** Every private encryption key a hospital holds: its users' and its organization's. */
async function privateKeysOf(node: HospitalNode): Promise<{ owner: string; key: JWK }[]> {
  const users = await node.db.query<{ username: string; encryption_key_sealed: string }>('SELECT username, encryption_key_sealed FROM users');
  const own = await node.db.query<{ name: string; private_key_sealed: string }>('SELECT name, private_key_sealed FROM hospital_keys');
  const keys: { owner: string; key: JWK }[] = [];
  for (const r of users.rows) keys.push({ owner: r.username, key: await node.vault.openJwk(r.encryption_key_sealed, vaultContext.userEncryptionKey(r.username)) });
  for (const r of own.rows) keys.push({ owner: r.name, key: await node.vault.openJwk(r.private_key_sealed, vaultContext.hospitalKey(r.name)) });
  return keys;
}

async function readBlob(node: HospitalNode, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await node.documents.blobs.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Which of a hospital's keys open any wrapped key stored for the document (in the blob store every hospital shares). */
async function openersAt(node: HospitalNode, blobKey: string): Promise<string[]> {
  const prefix = blobKey.replace(/content$/, 'keys/');
  const keys = await privateKeysOf(node);
  const openers: string[] = [];
  for await (const item of node.documents.blobs.list(prefix)) {
    const jwe = (await readBlob(node, item.key)).toString('utf8');
    for (const { owner, key } of keys) {
      try {
        (await unwrapDataKey(jwe, key, { document: blobKey })).fill(0);
        openers.push(owner);
      } catch (err) {
        if (!(err instanceof NoKeyError)) throw err;
      }
    }
  }
  return openers.sort();
}

describe.each(BACKENDS)('encryption for every grantee and cross-hospital reads (%s)', (backend) => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  const docs: Record<string, { id: string; bytes: Buffer; meta: DocumentMeta }> = {};
  let leeGrant: string;

  /** B's replica has every block A's has (and the other way round). */
  const inSync = async () => {
    await net.b.ledger.client.projection.waitForBlock(net.a.ledger.client.projection.height() - 1);
    await net.a.ledger.client.projection.waitForBlock(net.b.ledger.client.projection.height() - 1);
  };
  const atB = (method: string, path: string, body?: unknown) => fhir(net.b.baseUrl, people.tokens.lee, method, path, body);
  const download = (node: HospitalNode, token: string, id: string) => fetch(`${node.baseUrl}/Binary/${id}`, { headers: { authorization: `Bearer ${token}` } });
  const metaOf = async (id: string) => (await net.a.db.query<{ record: DocumentMeta }>('SELECT record FROM ledger_documents WHERE id = $1', [id])).rows[0].record;

  async function upload(category: string, loinc: string, bytes: Buffer, viaBinary: boolean): Promise<void> {
    const { id } = await uploadAsRyu(net, people, category, loinc, bytes, viaBinary);
    docs[category] = { id, bytes, meta: await metaOf(id) };
  }

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    people = await enrollSeedPeople(net);
    const ryu = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose'], ['access', 'correct']));
    expect(ryu.status, ryu.text).toBe(201);
    await upload('history-physical', '34117-2', Buffer.from('%PDF-1.4 history and physical, for Hospital A only'), false);
    await upload('lab-results', '11502-2', crypto.randomBytes(40_000), false);
    await upload('radiation-dose', '73569-6', crypto.randomBytes(2 * 1024 * 1024 + 5), true);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('before any grant to B: Dr. Lee finds nothing, and no key of Hospital B opens any document', async () => {
    await inSync();
    expect((await atB('GET', 'Patient')).body!.total).toBe(0);
    expect((await atB('GET', `DocumentReference?patient=${people.pseudonym}`)).body!.total).toBe(0);
    for (const { meta } of Object.values(docs)) expect(await openersAt(net.b, meta.blob)).toEqual([]);
  });

  it('the patient at A grants Dr. Lee at B; Dr. Lee finds her, lists both reports and downloads them byte-identical at B, never the history and physical', async () => {
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results', 'radiation-dose']));
    expect(grant.status, grant.text).toBe(201);
    leeGrant = grant.body!.id;
    await inSync();

    const consents = await atB('GET', 'Consent?actor=Practitioner/lee');
    expect(consents.body!.total).toBe(1);
    expect(consents.body!.entry[0].resource.patient.reference).toBe(`Patient/${people.pseudonym}`);
    // the demographics the patient shares with him, sealed for his key by her home hospital
    const patients = await atB('GET', 'Patient');
    expect(patients.body!.total).toBe(1);
    expect(patients.body!.entry[0].resource).toMatchObject({ id: people.pseudonym, name: [{ family: 'Okafor', given: ['Mara'] }], birthDate: '1961-04-12', gender: 'female' });
    expect(patients.body!.entry[0].resource.meta.tag[0].code).toBe('shared-demographics');
    // she changes her phone number at home: what Dr. Lee sees follows
    const own = (await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `Patient/${people.patientId}`)).body!;
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'PUT', `Patient/${people.patientId}`, { ...own, telecom: [{ system: 'phone', value: '+1 631 555 0199' }] })).status).toBe(200);
    expect((await atB('GET', `Patient/${people.pseudonym}`)).body!.telecom).toEqual([{ system: 'phone', value: '+1 631 555 0199' }]);

    const listed = await atB('GET', `DocumentReference?patient=${people.pseudonym}&_sort=date`);
    expect(listed.body!.total).toBe(2);
    expect(listed.body!.entry.map((e: { resource: { id: string } }) => e.resource.id).sort()).toEqual([docs['lab-results'].id, docs['radiation-dose'].id].sort());
    for (const category of ['lab-results', 'radiation-dose']) {
      const res = await download(net.b, people.tokens.lee, docs[category].id);
      expect(res.status, category).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(docs[category].bytes), category).toBe(true);
      expect(await openersAt(net.b, docs[category].meta.blob)).toEqual(['lee']);
    }
    const hp = docs['history-physical'];
    expect((await atB('GET', `DocumentReference/${hp.id}`)).status).toBe(404);
    expect((await download(net.b, people.tokens.lee, hp.id)).status).toBe(404);
    expect(await openersAt(net.b, hp.meta.blob)).toEqual([]);
  });

  it("Dr. Lee sees only demographics her home hospital signed: a copy forged in the shared store is shown as nothing shared", async () => {
    const key = SharedDemographics.blobKey(people.pseudonym, LEE);
    const genuine = await readBlob(net.a, key);
    const shown = async () => (await atB('GET', `Patient/${people.pseudonym}`)).body!;
    expect((await shown()).name).toMatchObject([{ family: 'Okafor', given: ['Mara'] }]);
    // whoever can write the shared store can seal anything to Dr. Lee's public key (it is on the ledger)
    const { rows: [{ key: leeKey }] } = await net.a.db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ledger_practitioners WHERE id = $1`, [LEE]);
    const forged = { name: [{ family: 'Mallory', given: ['Eve'] }], birthDate: '1990-01-01' };
    const otherKey = await generateKeyPair('ES256');
    const forgeries = {
      unsigned: JSON.stringify(forged),
      'signed by another key': await new CompactSign(Buffer.from(JSON.stringify({ patient: people.pseudonym, demographics: forged })))
        .setProtectedHeader({ alg: 'ES256', typ: 'consentry-demographics+jws' })
        .sign(otherKey.privateKey),
    };
    for (const [kind, plaintext] of Object.entries(forgeries)) {
      const jwe = await sealFor({ id: LEE, publicJwk: leeKey }, Buffer.from(plaintext), { sub: people.pseudonym, cty: 'consentry-demographics+jws' });
      await net.a.documents.blobs.put(key, Readable.from([Buffer.from(jwe)]));
      const patient = await shown();
      expect(patient.name, kind).toBeUndefined();
      expect(JSON.stringify(patient), kind).not.toContain('Mallory');
    }
    // A's genuine copy shows again
    await net.a.documents.blobs.put(key, Readable.from([genuine]));
    expect((await shown()).name).toMatchObject([{ family: 'Okafor', given: ['Mara'] }]);
  });

  it("a new document's key is wrapped for every current reader: Dr. Lee reads Dr. Ryu's next lab report at B at once", async () => {
    await upload('lab-results', '11502-2', crypto.randomBytes(10_000), false);
    await inSync();
    const res = await download(net.b, people.tokens.lee, docs['lab-results'].id);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(docs['lab-results'].bytes)).toBe(true);
  });

  it('a user of B never decrypts a document not wrapped for a user of B, even when the ledger allows the read', async () => {
    // a grant that reached the ledger without Hospital A wrapping anything (signed with the patient's identity directly)
    const mara = net.a.users.callerOf((await net.a.users.find('mara'))!, []).ledgerUser;
    const now = Date.now();
    const direct = await net.a.ledger.client.consentry.grantPermission(mara, {
      id: 'direct-hp',
      patient: people.pseudonym,
      grantee: { kind: 'practitioner', id: LEE },
      rights: ['read'],
      categories: ['history-physical'],
      from: new Date(now - 60_000).toISOString(),
      to: new Date(now + 3600_000).toISOString(),
      purpose: 'TREAT',
    });
    await net.b.ledger.client.projection.waitForBlock(direct.blockNumber);
    const hp = docs['history-physical'];
    expect((await atB('GET', `DocumentReference/${hp.id}`)).status).toBe(200);
    const res = await download(net.b, people.tokens.lee, hp.id);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { issue: { diagnostics: string }[] }).issue[0].diagnostics).toMatch(/no key/);
    expect(await openersAt(net.b, hp.meta.blob)).toEqual([]);
    await net.a.ledger.client.consentry.revokePermission(mara, people.pseudonym, 'direct-hp');
    await inSync();
  });

  it('narrowing the grant deletes the key of the category taken away; revoking denies the next request and leaves B no key that opens anything', async () => {
    const current = (await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `Consent/${leeGrant}`)).body!;
    const narrowed = await fhir(net.a.baseUrl, people.tokens.patient, 'PUT', `Consent/${leeGrant}`, { ...current, provision: { ...current.provision, code: [current.provision.code.find((c: { coding: { code: string }[] }) => c.coding[0].code === 'lab-results')] } });
    expect(narrowed.status, narrowed.text).toBe(200);
    await inSync();
    expect((await download(net.b, people.tokens.lee, docs['radiation-dose'].id)).status).toBe(404);
    expect(await openersAt(net.b, docs['radiation-dose'].meta.blob)).toEqual([]);
    expect((await download(net.b, people.tokens.lee, docs['lab-results'].id)).status).toBe(200);

    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${leeGrant}`)).status).toBe(200);
    await inSync();
    expect((await download(net.b, people.tokens.lee, docs['lab-results'].id)).status).toBe(404);
    expect((await atB('GET', `DocumentReference?patient=${people.pseudonym}`)).body!.total).toBe(0);
    expect((await atB('GET', 'Patient')).body!.total).toBe(0);
    const { rows } = await net.a.db.query<{ record: DocumentMeta }>('SELECT record FROM ledger_documents WHERE patient = $1', [people.pseudonym]);
    expect(rows.length).toBe(4);
    for (const { record } of rows) {
      expect(await openersAt(net.b, record.blob), record.category).toEqual([]);
      expect(await net.a.documents.hasRecipient(record.blob, LEE)).toBe(false);
    }
    expect(await net.a.sharing.demographics.has(people.pseudonym, LEE)).toBe(false);
    // the patient and the author still open theirs at A
    expect(await openersAt(net.a, docs['lab-results'].meta.blob)).toEqual(['mara', 'ryu']);
  });

  it("a grant to Hospital B as an organization is wrapped for B's organization key, which any of B's practitioners reads through", async () => {
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Organization/HospitalBMSP', ['radiation-dose']));
    expect(grant.status, grant.text).toBe(201);
    await inSync();
    const dose = docs['radiation-dose'];
    expect(await net.a.documents.hasRecipient(dose.meta.blob, 'Organization/HospitalBMSP')).toBe(true);
    expect(await openersAt(net.b, dose.meta.blob)).toEqual(['organization']);
    const res = await download(net.b, people.tokens.lee, dose.id);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(dose.bytes)).toBe(true);
    expect((await atB('GET', `Patient/${people.pseudonym}`)).body!.name[0].family).toBe('Okafor');

    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${grant.body!.id}`)).status).toBe(200);
    await inSync();
    expect(await openersAt(net.b, dose.meta.blob)).toEqual([]);
    expect((await download(net.b, people.tokens.lee, dose.id)).status).toBe(404);
  });

  it('when a grant ends by its own period, the due key sync deletes the keys', async () => {
    const body = consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results']);
    body.provision.period.end = new Date(Date.now() + 2_000).toISOString();
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', body);
    expect(grant.status, grant.text).toBe(201);
    const lab = docs['lab-results'];
    expect(await net.a.documents.hasRecipient(lab.meta.blob, LEE)).toBe(true);
    expect(await net.a.sharing.demographics.has(people.pseudonym, LEE)).toBe(true);
    // the task is due at the grant's end (a sync that raced another one leaves it due now, for runDue to settle)
    const dueAt = async () => (await net.a.db.query<{ due_at: Date }>('SELECT due_at FROM grantee_key_tasks WHERE patient = $1 AND grantee_id = $2', [people.pseudonym, LEE])).rows[0]?.due_at;
    for (let i = 0; i < 20 && new Date((await dueAt())!).getTime() !== Date.parse(body.provision.period.end); i++) await net.a.sharing.granteeKeys.runDue();
    expect(new Date((await dueAt())!).toISOString()).toBe(new Date(body.provision.period.end).toISOString());
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(body.provision.period.end) - Date.now()) + 100));
    await net.a.sharing.granteeKeys.runDue();
    expect(await net.a.documents.hasRecipient(lab.meta.blob, LEE)).toBe(false);
    expect(await net.a.sharing.demographics.has(people.pseudonym, LEE)).toBe(false);
    expect(await openersAt(net.b, lab.meta.blob)).toEqual([]);
    expect((await net.a.db.query('SELECT 1 FROM grantee_key_tasks WHERE grantee_id = $1', [LEE])).rows).toEqual([]);
  });

  it("break-glass at B (written by the practitioner, not through A): A finds it on the ledger and wraps the patient's keys for them", async () => {
    const { user } = await net.b.enrollment.enrollPractitioner({ username: 'ortiz', password: 'pw-ortiz', id: 'ortiz', given: 'Rosa', family: 'Ortiz', npi: '1679576722', emergency: true });
    const ortiz = net.b.users.callerOf(user, []);
    await net.b.ledger.client.consentry.emergencyAccess(ortiz.ledgerUser, people.pseudonym, 'unconscious in the emergency department');
    const hp = docs['history-physical'];
    const until = Date.now() + 15_000;
    while (!(await net.a.documents.hasRecipient(hp.meta.blob, ortiz.ledgerId))) {
      if (Date.now() > until) throw new Error('the break-glass grantee got no key');
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await download(net.b, await net.b.tokenFor('ortiz'), hp.id);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(hp.bytes)).toBe(true);
    expect(await openersAt(net.b, hp.meta.blob)).toEqual(['ortiz']);
  });
});
