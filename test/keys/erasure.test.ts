import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { download, inSync, listBlobs, metaOf, seedWithDocuments, type People, type Uploaded } from './helpers.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run ledger:verify -- --data <dir>`: exit code and output. */
function ledgerVerify(dataDir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'devpeer/verify.ts', '--data', dataDir], { cwd: repo, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

// two hospital nodes, enrollments and uploads: slow on a busy machine
const SETUP_TIMEOUT_MS = 300_000;

describe.each(BACKENDS)('erasure (%s)', (backend) => {
  let net: TestNetwork;
  let people: People;
  let docs: Record<string, Uploaded>;
  const metas: DocumentMeta[] = [];
  const erase = (token: string, body?: unknown, node = net.a, id = people.patientId) => fhir(node.baseUrl, token, 'POST', `Patient/${id}/$erase`, body);
  const confirm = (value: string) => ({ resourceType: 'Parameters', parameter: [{ name: 'confirm', valueString: value }] });

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    ({ people, docs } = await seedWithDocuments(net));
    for (const doc of Object.values(docs)) metas.push(await metaOf(net.a, doc.id));
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await net?.stop();
  });

  it('is refused to practitioners at either hospital (403) and without confirmation (400), changing nothing', async () => {
    expect((await erase(people.tokens.ryu, confirm(people.patientId))).status).toBe(403);
    expect((await erase(people.tokens.lee, confirm(people.pseudonym), net.b, people.pseudonym)).status).toBe(403);
    expect((await erase(people.tokens.patient)).status).toBe(400);
    expect((await erase(people.tokens.patient, { resourceType: 'Parameters', parameter: [] })).status).toBe(400);
    expect((await erase(people.tokens.patient, confirm('somebody-else'))).status).toBe(400);
    const readOnly = await net.a.tokenFor('mara', 'patient/*.rs');
    expect((await erase(readOnly, confirm(people.patientId))).status).toBe(403);

    const status = await net.a.db.query<{ status: string }>('SELECT status FROM ledger_patients WHERE pseudonym = $1', [people.pseudonym]);
    expect(status.rows[0].status).toBe('active');
    const lab = await download(net.b, people.tokens.lee, docs['lab-results'].id);
    expect(lab.status).toBe(200);
    expect(lab.bytes.equals(docs['lab-results'].bytes)).toBe(true);
  });

  it('by the patient: tombstone on the ledger, blobs, wrapped keys, shared demographics, key tasks and the pseudonym secret destroyed', async () => {
    expect((await listBlobs(net.a, `patients/${people.pseudonym}/`)).length).toBeGreaterThan(0); // shared with Dr. Lee at B
    await net.a.db.query(`INSERT INTO grantee_key_tasks (patient, grantee_kind, grantee_id, due_at) VALUES ($1, 'practitioner', 'HospitalBMSP/Practitioner/lee', now() + interval '1 day') ON CONFLICT DO NOTHING`, [people.pseudonym]);

    const res = await erase(people.tokens.patient, confirm(people.patientId));
    expect(res.status, res.text).toBe(200);
    expect(res.body!.parameter).toContainEqual({ name: 'documents', valueInteger: 3 });

    const patient = await net.a.db.query<{ status: string }>('SELECT status FROM ledger_patients WHERE pseudonym = $1', [people.pseudonym]);
    expect(patient.rows[0].status).toBe('erased');
    for (const meta of metas) {
      expect(await net.a.documents.blobs.head(meta.blob)).toBeUndefined();
      expect(await listBlobs(net.a, meta.blob.replace(/content$/, ''))).toEqual([]);
    }
    expect(metas.some((m) => m.blob.startsWith('documents/staged/'))).toBe(true); // the Binary upload's blob went too
    expect(await listBlobs(net.a, `documents/${people.pseudonym}/`)).toEqual([]);
    expect(await listBlobs(net.a, `patients/${people.pseudonym}/`)).toEqual([]);
    expect((await net.a.db.query('SELECT 1 FROM grantee_key_tasks WHERE patient = $1', [people.pseudonym])).rows).toEqual([]);
    const secret = await net.a.db.query<{ secret: string }>('SELECT secret FROM patient_pseudonyms WHERE pseudonym = $1', [people.pseudonym]);
    expect(secret.rows[0].secret).toBe('');
  });

  it('afterwards nobody reads any of her documents, at either hospital', async () => {
    await inSync(net);
    for (const doc of Object.values(docs)) {
      for (const [node, token] of [[net.a, people.tokens.patient], [net.a, people.tokens.ryu], [net.a, people.tokens.adminA], [net.b, people.tokens.lee]] as const) {
        expect([404, 410], `DocumentReference at ${node.mspId}`).toContain((await fhir(node.baseUrl, token, 'GET', `DocumentReference/${doc.id}`)).status);
        expect([404, 410], `Binary at ${node.mspId}`).toContain((await download(node, token, doc.id)).status);
      }
    }
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'GET', `DocumentReference?patient=${people.pseudonym}`)).body!.total).toBe(0);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `DocumentReference?patient=Patient/${people.patientId}`)).body!.total).toBe(0);
  });

  it('the erasure is in her audit history, the chain still verifies, and a repeated call only finishes the job', async () => {
    for (const token of [people.tokens.patient, people.tokens.adminA]) {
      const history = await fhir(net.a.baseUrl, token, 'GET', `AuditEvent?patient=Patient/${people.patientId}&_sort=-date`);
      expect(history.status, history.text).toBe(200);
      const erased = history.body!.entry.map((e: { resource: { subtype: { code: string }[]; action: string } }) => e.resource).filter((r: { subtype: { code: string }[] }) => r.subtype.some((s) => s.code === 'PatientErased'));
      expect(erased).toHaveLength(1);
      expect(erased[0].action).toBe('D');
    }
    const again = await erase(people.tokens.adminA, confirm(people.patientId));
    expect(again.status, again.text).toBe(200);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', `Patient/${people.patientId}/$rotate-keys`)).status).toBe(410);

    const verified = ledgerVerify(net.dataDir);
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toMatch(/^OK /m);
  });
});
