import { execFile } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditAnchor } from '../../chaincode/src/records.js';
import { canonicalRow, type LogRow } from '../../server/audit/canonical-row.js';
import { verifyAuditLog } from '../../server/audit/index.js';
import { leafHash, MerkleAccumulator, merkleRoot, MerkleTree, verifyInclusion } from '../../server/audit/merkle.js';
import { openSealed, sealFor } from '../../server/documents/index.js';
import { LedgerRejectedError } from '../../server/ledger/errors.js';
import { vaultContext } from '../../server/membership/key-vault.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';

const run = promisify(execFile);

describe('Merkle tree (RFC 9162)', () => {
  const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Buffer.from(`row ${i}`)));

  it('proves every leaf of trees of every size from 1 to 13 from one tree each, and nothing else', () => {
    for (let n = 1; n <= leaves.length; n++) {
      const root = merkleRoot(leaves.slice(0, n));
      const tree = new MerkleTree(leaves.slice(0, n));
      expect(tree.root().equals(root)).toBe(true);
      // from the left for even sizes and from the right for odd ones: the subtrees a proof keeps serve any order
      for (const i of Array.from({ length: n }, (_, j) => (n % 2 ? n - 1 - j : j))) {
        const proof = tree.proof(i);
        expect(verifyInclusion(leaves[i], i, n, proof, root)).toBe(true);
        expect(verifyInclusion(leaves[(i + 1) % leaves.length], i, n, proof, root)).toBe(false);
        if (proof.length) {
          const tampered = proof.map((h) => Buffer.from(h));
          tampered[0][0] ^= 1;
          expect(verifyInclusion(leaves[i], i, n, tampered, root)).toBe(false);
        }
      }
    }
  });

  it('a tree built leaf by leaf has the RFC root at every size, asked for midway or not', () => {
    const many = Array.from({ length: 2000 }, (_, i) => leafHash(Buffer.from(`row ${i}`)));
    const tree = new MerkleAccumulator();
    expect(tree.root().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const [i, leaf] of many.entries()) {
      tree.push(leaf);
      const n = i + 1;
      if (![1, 2, 3, 255, 256, 257, 400, 1023, 1999, 2000].includes(n)) continue;
      const root = tree.root();
      expect(tree.size).toBe(n);
      for (const index of [0, Math.floor(n / 2), n - 1]) {
        expect(verifyInclusion(many[index], index, n, new MerkleTree(many.slice(0, n)).proof(index), root)).toBe(true);
      }
    }
    expect(merkleRoot(many).equals(tree.root())).toBe(true);
  });

  it('no two leaf lists share a root: a duplicated last leaf changes it', () => {
    expect(merkleRoot(leaves.slice(0, 3)).equals(merkleRoot([...leaves.slice(0, 3), leaves[2]]))).toBe(false);
  });

  it('the canonical row encoding is the fixed-order JSON array', () => {
    const row: LogRow = { seq: '7', at_us: '1700000000123456', username: 'lee', agent: 'HospitalBMSP/Practitioner/lee', patient: 'ab', resource_type: 'Binary', resource_id: 'd1', resource_ids: null, action: 'download', purpose: 'TREAT', ledger_height: '12' };
    expect(canonicalRow(row).toString('utf8')).toBe('["7","1700000000123456","lee","HospitalBMSP/Practitioner/lee","ab","Binary","d1",null,"download","TREAT","12"]');
  });
});

describe('anchoring the read-access log and audit:verify', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let documentId: string;
  /** the batch the tamper tests anchor by hand (the background task may have made one or several before it) */
  let tampered: number;

  const anchorOf = async (sequence: number): Promise<AuditAnchor | undefined> => {
    try {
      return JSON.parse(Buffer.from(await net.a.ledger.client.transactions.evaluate(net.a.ledger.embedded!.adminOf('HospitalAMSP'), 'GetAuditAnchor', ['HospitalAMSP', String(sequence)])).toString('utf8')) as AuditAnchor;
    } catch (err) {
      if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
      throw err;
    }
  };
  const readsByRyu = async (n: number) => {
    for (let i = 0; i < n; i++) expect((await fhir(net.a.baseUrl, people.tokens.ryu, 'GET', `DocumentReference/${documentId}`)).status).toBe(200);
    expect((await fhir(net.a.baseUrl, people.tokens.ryu, 'GET', `DocumentReference?patient=${people.patientId}`)).status).toBe(200);
  };

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['lab-results'], ['access', 'correct']))).status).toBe(201);
    const doc = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', documentBody(people.patientId, 'lab-results', '11502-2', { data: Buffer.from('labs'), contentType: 'text/plain' }));
    expect(doc.status, doc.text).toBe(201);
    documentId = doc.body!.id;
  }, 300_000);
  afterAll(async () => {
    await net?.stop();
  });

  it('the background task anchors new reads within a few seconds, and the ledger holds the root', async () => {
    await readsByRyu(3);
    const { rows: logged } = await net.a.db.query<{ seq: string }>('SELECT seq::text FROM read_access_log');
    const end = Date.now() + 10_000;
    let batches: { sequence: string; seqs: string[]; merkle_root: string }[] = [];
    while (Date.now() < end) {
      batches = (await net.a.db.query<{ sequence: string; seqs: string[]; merkle_root: string }>('SELECT b.sequence::text AS sequence, b.seqs::text[] AS seqs, b.merkle_root FROM audit_anchor_batches b ORDER BY b.sequence')).rows;
      if (batches.flatMap((b) => b.seqs).length >= logged.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(batches.flatMap((b) => b.seqs).sort()).toEqual(logged.map((r) => r.seq).sort());
    for (const b of batches) expect((await anchorOf(Number(b.sequence)))?.merkleRoot).toBe(b.merkle_root);
    const result = await verifyAuditLog(net.a.db, anchorOf);
    expect(result.problems).toEqual([]);
    expect(result.anchoredRows).toBe(logged.length);
  });

  it('a block that only anchors the read log keeps cached decisions; a Consent block moves the cache epoch', async () => {
    const projection = net.a.ledger.client.projection;
    await readsByRyu(2);
    await net.a.audit.anchoring.anchorAll(); // whatever the background task left pending
    await readsByRyu(2);
    const epoch = await net.a.db.changes.epoch();
    const batch = await net.a.audit.anchoring.anchorOnce();
    expect(batch?.count).toBeGreaterThan(0);
    await projection.waitForBlock(batch!.blockNumber);
    expect(projection.height()).toBeGreaterThan(batch!.blockNumber);
    expect(await net.a.db.changes.epoch()).toBe(epoch);
    // the key-sharing task (every 2 s) follows the block for break-glass events and records how far it got
    expect(await net.a.sharing.granteeKeys.followEmergencyAccess()).toBe(0);
    const { rows: followed } = await net.a.db.query<{ n: number }>(`SELECT next_block AS n FROM grantee_key_checkpoint WHERE name = 'emergency'`);
    expect(Number(followed[0].n)).toBeGreaterThan(batch!.blockNumber);
    expect(await net.a.db.changes.epoch()).toBe(epoch);

    const consent = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['imaging'], ['access']));
    expect(consent.status, consent.text).toBe(201);
    expect(await net.a.db.changes.epoch()).toBeGreaterThan(epoch);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${consent.body!.id}`)).status).toBeLessThan(300);
  });

  it('detects a deleted row and an altered one, naming each', async () => {
    await net.a.audit.anchoring.stop(); // from here on the test anchors by hand
    await readsByRyu(4);
    const batch = (await net.a.audit.anchoring.anchorAll())!;
    tampered = batch.sequence;
    expect(batch.count).toBeGreaterThanOrEqual(5);
    const { rows } = await net.a.db.query<{ seq: string }>('SELECT unnest(seqs)::text AS seq FROM audit_anchor_batches WHERE sequence = $1', [batch.sequence]);
    const [deleted, altered] = [rows[1].seq, rows[3].seq];
    expect((await verifyAuditLog(net.a.db, anchorOf)).ok).toBe(true);

    await net.a.db.query('DELETE FROM read_access_log WHERE seq = $1', [deleted]);
    await net.a.db.query(`UPDATE read_access_log SET username = 'park' WHERE seq = $1`, [altered]);
    const result = await verifyAuditLog(net.a.db, anchorOf);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.kind, p.seq])).toEqual([
      ['deleted', deleted],
      ['altered', altered],
    ]);
  });

  it('detects a row slipped into an anchored batch and a batch record deleted', async () => {
    const { rows } = await net.a.db.query<{ seq: string }>(
      `INSERT INTO read_access_log (seq, at, username, agent, patient, resource_type, resource_id, action, purpose, ledger_height)
       SELECT 0, at, username, agent, patient, resource_type, resource_id, action, purpose, ledger_height FROM read_access_log ORDER BY seq LIMIT 1 RETURNING seq::text`,
    );
    const result = await verifyAuditLog(net.a.db, anchorOf);
    expect(result.problems.filter((p) => p.kind === 'inserted').map((p) => p.seq)).toEqual([rows[0].seq]);

    // the newest batch's record deleted: the ledger still names it
    await net.a.db.query('CREATE TEMP TABLE kept AS SELECT * FROM audit_anchor_batches WHERE sequence = $1', [tampered]);
    await net.a.db.query('DELETE FROM audit_anchor_batches WHERE sequence = $1', [tampered]);
    const missing = await verifyAuditLog(net.a.db, anchorOf);
    expect(missing.problems.filter((p) => p.kind === 'batch-missing').map((p) => p.sequence)).toEqual([tampered]);
    await net.a.db.query('INSERT INTO audit_anchor_batches SELECT * FROM kept');
  });

  it("reads of A's patient served by B reach her history at A only with proofs that lead to B's anchored root", async () => {
    const p = people.pseudonym;
    // three rows of one batch, each proven from the same tree
    await net.b.db.query(
      `INSERT INTO read_access_log (at, username, agent, patient, resource_type, resource_id, action, purpose, ledger_height)
       SELECT now() + i * interval '1 millisecond', 'lee', 'HospitalBMSP/Practitioner/lee', $1, 'Binary', $2, 'download', 'TREAT', 1 FROM generate_series(1, 3) i`,
      [p, documentId],
    );
    const batch = (await net.b.audit.anchoring.anchorAll()) ?? (await (async () => {
      const { rows } = await net.b.db.query<{ sequence: string }>('SELECT max(sequence)::text AS sequence FROM audit_anchor_batches');
      return { sequence: Number(rows[0].sequence), blockNumber: net.b.ledger.client.projection.height() - 1 };
    })());
    await net.a.ledger.client.projection.waitForBlock(batch.blockNumber);
    const key = `patients/${p}/disclosures/HospitalBMSP-${batch.sequence}.jwe`;
    const read = async () => {
      const chunks: Buffer[] = [];
      for await (const c of await net.a.documents.blobs.get(key)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    const genuine = await read();
    const { rows: [mara] } = await net.a.db.query<{ encryption_key_sealed: string; encryption_public_jwk: JWK }>(`SELECT encryption_key_sealed, encryption_public_jwk FROM users WHERE username = 'mara'`);
    const sealed = JSON.parse((await openSealed(genuine.toString('utf8'), await net.a.vault.openJwk(mara.encryption_key_sealed, vaultContext.userEncryptionKey('mara')), { sub: p })).toString('utf8'));
    expect(sealed.rows.map((r: { row: { agent: string } }) => r.row.agent)).toEqual(Array(3).fill('HospitalBMSP/Practitioner/lee'));
    expect(new Set(sealed.rows.map((r: { index: number }) => r.index)).size).toBe(3);
    // whoever can write the shared blob store can seal to her public key; a changed row has no proof to the root
    sealed.rows[0].row.username = 'mallory';
    sealed.rows[0].row.agent = 'HospitalBMSP/Practitioner/mallory';
    await net.a.documents.blobs.put(key, Readable.from([Buffer.from(await sealFor({ id: p, publicJwk: mara.encryption_public_jwk }, Buffer.from(JSON.stringify(sealed)), { sub: p, cty: 'disclosures' }))]));
    const history = async () => (await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `AuditEvent?patient=Patient/${people.patientId}&subtype=download&_count=100`)).body!.entry.map((e: { resource: { agent: { who: { reference: string } }[]; source: { site: string } } }) => e.resource);
    expect((await history()).filter((e: { source: { site: string } }) => e.source.site === 'HospitalBMSP')).toEqual([]);

    await net.a.documents.blobs.put(key, Readable.from([genuine]));
    const fromB = (await history()).filter((e: { source: { site: string } }) => e.source.site === 'HospitalBMSP');
    expect(fromB.map((e: { agent: { who: { reference: string } }[] }) => e.agent[0].who.reference)).toEqual(Array(3).fill(`${net.b.baseUrl}/Practitioner/lee`));
  });

  it('a backlog larger than one batch is anchored as consecutive batches of at most 2,000 rows, every row proven', async () => {
    const before = Number((await net.a.db.query<{ s: string }>('SELECT COALESCE(max(sequence), 0)::text AS s FROM audit_anchor_batches')).rows[0].s);
    await readsByRyu(2);
    // rows written without a stored leaf (as by an older version) among them
    await net.a.db.query(
      `INSERT INTO read_access_log (at, username, agent, patient, resource_type, resource_id, action, purpose, ledger_height)
       SELECT now() + i * interval '1 microsecond', 'ryu', 'HospitalAMSP/Practitioner/ryu', $1, 'DocumentReference', 'doc-' || i, 'read', 'TREAT', 1 FROM generate_series(1, 4500) i`,
      [people.pseudonym],
    );
    await readsByRyu(2);
    const pending = Number((await net.a.db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log WHERE seq > (SELECT max(last_seq) FROM audit_anchor_batches)')).rows[0].n);
    expect(pending).toBeGreaterThan(4500);
    await net.a.audit.anchoring.anchorAll();
    const { rows: batches } = await net.a.db.query<{ sequence: string; first_seq: string; last_seq: string; n: number }>(
      'SELECT sequence::text, first_seq::text, last_seq::text, cardinality(seqs) AS n FROM audit_anchor_batches WHERE sequence > $1 ORDER BY sequence',
      [before],
    );
    expect(batches.length).toBe(Math.ceil(pending / 2000));
    expect(batches.every((b) => b.n <= 2000)).toBe(true);
    expect(batches.reduce((sum, b) => sum + b.n, 0)).toBe(pending);
    for (const [i, b] of batches.entries()) {
      if (i > 0) expect(BigInt(b.first_seq)).toBeGreaterThan(BigInt(batches[i - 1].last_seq));
      expect((await anchorOf(Number(b.sequence)))?.count).toBe(b.n);
    }
    const result = await verifyAuditLog(net.a.db, anchorOf);
    expect(result.problems.filter((p) => (p.sequence ?? 0) > before)).toEqual([]);
    expect(result.pendingRows).toBe(0);
  });

  it('npm run audit:verify recomputes every batch against the ledger and exits non-zero, naming the deleted and the altered row', async () => {
    const dataDir = net.dataDir;
    const stopping = net;
    net = undefined as unknown as TestNetwork;
    await stopping.stop();
    const cli = path.resolve('server/audit/verify-main.ts');
    const failed = await run('npx', ['tsx', cli, '--hospital', 'A', '--data', dataDir], { env: { ...process.env, DATABASE_URL: '' } }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(new RegExp(`FAIL row \\d+ \\(batch ${tampered}, leaf 1\\) was deleted`));
    expect(failed.stdout).toMatch(new RegExp(`FAIL row \\d+ \\(batch ${tampered}, leaf 3\\) was altered`));
    expect(failed.stdout).toMatch(/row 0 lies in the range of batch 1 but is not in it/);
    const b = await run('npx', ['tsx', cli, '--hospital', 'B', '--data', dataDir], { env: { ...process.env, DATABASE_URL: '' } });
    expect(b.stdout).toMatch(/^OK +HospitalBMSP: /m);
  });
});
