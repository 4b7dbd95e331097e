import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoKeyError, recipientKeyName, unwrapDataKey } from '../../server/documents/index.js';
import { LedgerUnavailableError } from '../../server/ledger/errors.js';
import type { LedgerClient } from '../../server/ledger/index.js';
import { KeyHolders } from '../../server/repositories/key-holders.js';
import { KeyRotation } from '../../server/repositories/key-rotation.js';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { download, inSync, listBlobs, metaOf, patientPrivateKey, readBlob, seedWithDocuments, upload, type People, type Uploaded } from './helpers.js';

// two hospital nodes, enrollments and uploads: slow on a busy machine
const SETUP_TIMEOUT_MS = 300_000;

describe.each(BACKENDS)('key rotation (%s)', (backend) => {
  let net: TestNetwork;
  let people: People;
  let docs: Record<string, Uploaded>;

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    ({ people, docs } = await seedWithDocuments(net));
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await net?.stop();
  });

  /** Every document still opens for the patient and Dr. Ryu at A, and the granted ones for Dr. Lee at B, byte-identical. */
  async function everyoneStillReads(): Promise<void> {
    await inSync(net);
    for (const [category, doc] of Object.entries(docs)) {
      for (const [node, token] of [[net.a, people.tokens.patient], [net.a, people.tokens.ryu]] as const) {
        const got = await download(node, token, doc.id);
        expect(got.status, category).toBe(200);
        expect(got.bytes.equals(doc.bytes), category).toBe(true);
      }
      const atB = await download(net.b, people.tokens.lee, doc.id);
      expect(atB.status, category).toBe(category === 'history-physical' ? 404 : 200);
      if (atB.status === 200) expect(atB.bytes.equals(doc.bytes), category).toBe(true);
    }
  }

  /** Whether `key` opens the patient's wrapped key of each document. */
  async function opensPatientKeys(key: JWK): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const doc of Object.values(docs)) {
      const meta = await metaOf(net.a, doc.id);
      try {
        (await unwrapDataKey(await readBlob(net.a, recipientKeyName(meta.blob, people.pseudonym)), key, { document: meta.blob })).fill(0);
        out.push(true);
      } catch (err) {
        if (!(err instanceof NoKeyError)) throw err;
        out.push(false);
      }
    }
    return out;
  }

  it('only the patient or their home admin may rotate the patient key', async () => {
    const before = await patientPrivateKey(net.a, people.pseudonym);
    expect((await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', `Patient/${people.patientId}/$rotate-keys`)).status).toBe(403);
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'POST', `Patient/${people.pseudonym}/$rotate-keys`)).status).toBe(403);
    // a token whose scopes only read cannot either
    const readOnly = await net.a.tokenFor('mara', 'patient/*.rs');
    expect((await fhir(net.a.baseUrl, readOnly, 'POST', `Patient/${people.patientId}/$rotate-keys`)).status).toBe(403);
    expect(await patientPrivateKey(net.a, people.pseudonym)).toEqual(before);
  });

  it('rotating the patient key rewraps every data key: all still read, and the old private key opens nothing', async () => {
    const oldKey = await patientPrivateKey(net.a, people.pseudonym);
    const oldPublic = (await net.a.db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ledger_patients WHERE pseudonym = $1`, [people.pseudonym])).rows[0].key;
    expect(await opensPatientKeys(oldKey)).toEqual([true, true, true]);

    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', `Patient/${people.patientId}/$rotate-keys`);
    expect(res.status, res.text).toBe(200);
    expect(res.body!.parameter).toContainEqual({ name: 'rewrapped', valueInteger: 3 });

    const newKey = await patientPrivateKey(net.a, people.pseudonym);
    expect(newKey.d).not.toBe(oldKey.d);
    // the new public key is on the ledger, in both replicas
    await inSync(net);
    for (const node of [net.a, net.b]) {
      const onLedger = (await node.db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ledger_patients WHERE pseudonym = $1`, [people.pseudonym])).rows[0].key;
      expect(onLedger.x).not.toBe(oldPublic.x);
      expect(onLedger.x).toBe(newKey.x);
    }
    expect(await opensPatientKeys(newKey)).toEqual([true, true, true]);
    expect(await opensPatientKeys(oldKey)).toEqual([false, false, false]);
    // no wrapped key of any of the patient's documents opens with it, nor does the hospital keep it anywhere
    for (const key of await listBlobs(net.a, `documents/${people.pseudonym}/`)) {
      if (!key.endsWith('.jwe')) continue;
      const document = key.replace(/\/keys\/[^/]+$/, '/content');
      await expect(unwrapDataKey(await readBlob(net.a, key), oldKey, { document })).rejects.toBeInstanceOf(NoKeyError);
    }
    const pending = await net.a.db.query(`SELECT 1 FROM hospital_keys WHERE name LIKE 'patient-key-rotation/%'`);
    expect(pending.rows).toEqual([]);
    await everyoneStillReads();

    // a document added afterwards is wrapped for the new key
    docs['radiation-dose-2'] = await upload(net, people, 'radiation-dose', '73569-6', crypto.randomBytes(1000), false);
    expect(await opensPatientKeys(newKey)).toEqual([true, true, true, true]);
    await everyoneStillReads();
  });

  it('the home admin rotates it again', async () => {
    const before = await patientPrivateKey(net.a, people.pseudonym);
    const res = await fhir(net.a.baseUrl, people.tokens.adminA, 'POST', `Patient/${people.patientId}/$rotate-keys`);
    expect(res.status, res.text).toBe(200);
    expect(res.body!.parameter).toContainEqual({ name: 'rewrapped', valueInteger: 4 });
    expect(await opensPatientKeys(before)).toEqual([false, false, false, false]);
    await everyoneStillReads();
  });

  it('rotating a data key re-encrypts the content: new ledger hash and blob, same id, byte-identical content for every reader', async () => {
    for (const category of ['lab-results', 'radiation-dose']) {
      const doc = docs[category];
      const before = await metaOf(net.a, doc.id);
      const version = (await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `DocumentReference/${doc.id}`)).body!.meta.versionId;
      const res = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', `DocumentReference/${doc.id}/$rotate-key`);
      expect(res.status, res.text).toBe(200);
      const after = await metaOf(net.a, doc.id);
      expect(after.ciphertextSha256).not.toBe(before.ciphertextSha256);
      expect(after.blob).not.toBe(before.blob);
      expect({ ...after, blob: before.blob, ciphertextSha256: before.ciphertextSha256 }).toEqual(before);
      expect(res.body!.parameter).toContainEqual({ name: 'ciphertextSha256', valueString: after.ciphertextSha256 });
      expect(res.body!.parameter).toContainEqual({ name: 'previousCiphertextSha256', valueString: before.ciphertextSha256 });
      // the old ciphertext and its wrapped keys are gone; the new blob hashes to the ledger value
      expect(await net.a.documents.blobs.head(before.blob)).toBeUndefined();
      expect(await listBlobs(net.a, before.blob.replace(/content$/, 'keys/'))).toEqual([]);
      const stored = crypto.createHash('sha256');
      for await (const c of await net.a.documents.blobs.get(after.blob)) stored.update(c as Buffer);
      expect(stored.digest('hex')).toBe(after.ciphertextSha256);
      const updated = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `DocumentReference/${doc.id}`);
      expect(Number(updated.body!.meta.versionId)).toBe(Number(version) + 1);
    }
    await everyoneStillReads();
  });

  it('only the patient or the home admin rotates a data key; a failed ledger write leaves the document as it was', async () => {
    const doc = docs['history-physical'];
    const before = await metaOf(net.a, doc.id);
    expect((await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', `DocumentReference/${doc.id}/$rotate-key`)).status).toBe(403);
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'POST', `DocumentReference/${docs['lab-results'].id}/$rotate-key`)).status).toBe(403);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'DocumentReference/no-such-document/$rotate-key')).status).toBe(404);

    // the ledger refuses to commit (unavailable): the new blob is removed, the old one still serves
    const ledger = net.a.ledger.client;
    const failing = { ...ledger, transactions: { ...ledger.transactions, submit: async () => { throw new LedgerUnavailableError('peer down'); } } } as unknown as LedgerClient;
    const keys = new KeyHolders(net.a.db, net.a.mspId, net.a.vault);
    const rotation = new KeyRotation({ db: net.a.db, ledger: failing, documents: net.a.documents, keys, patients: net.a.patients, log: () => undefined });
    const caller = await net.a.users.find('mara');
    const ctx = { caller: net.a.users.callerOf(caller!, []), baseUrl: net.a.baseUrl, mspId: net.a.mspId, now: new Date(), strict: false };
    await expect(rotation.rotateDocumentKey(ctx, doc.id)).rejects.toBeInstanceOf(LedgerUnavailableError);
    expect(await metaOf(net.a, doc.id)).toEqual(before);
    expect((await listBlobs(net.a, `documents/${people.pseudonym}/`)).filter((k) => k.includes(`${doc.id}.k`))).toEqual([]);
    const got = await download(net.a, people.tokens.patient, doc.id);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(doc.bytes)).toBe(true);

    const res = await fhir(net.a.baseUrl, people.tokens.adminA, 'POST', `DocumentReference/${doc.id}/$rotate-key`);
    expect(res.status, res.text).toBe(200);
    await everyoneStillReads();
  });
});
