import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/open.js';
import type { BlockTransaction } from '../../server/ledger/blocks.js';
import { applyBlockEvents, applyTransactionEvent } from '../../server/ledger/projection-apply.js';
import { createScratchDatabase } from '../support/postgres.js';
import { anchor, document, grantBlock, patientRegistered, permission, tx } from './projection-blocks.js';
import { applyTransactionEventPerRecord } from './projection-reference.js';

const TABLES = ['ledger_events', 'ledger_patients', 'ledger_practitioners', 'ledger_organizations', 'ledger_permissions', 'ledger_documents', 'ledger_audit_anchors'];
const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const [P1, P2, P3] = ['p1-pseudonym', 'p2-pseudonym', 'p3-pseudonym'];

/** Every projected row of every table, as PostgreSQL prints it (exact types, timestamps to the microsecond). */
async function dump(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) out[table] = (await db.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t ORDER BY 1`)).rows.map((r) => r.row);
  return out;
}

const perRecord = (db: Database, n: number, txs: BlockTransaction[]) =>
  db.transaction(async (q) => {
    for (const t of txs) await applyTransactionEventPerRecord(q, n, t);
  });
const bulk = (db: Database, n: number, txs: BlockTransaction[]) => db.transaction((q) => applyBlockEvents(q, n, txs));

// Block 5: registrations, then a grant updated and revoked, a document added and superseded, another added and
// withdrawn, all in one block; a practitioner, an organization, break-glass, and one anchor key written twice.
const permA = permission(P1, 'perm-a');
const block5: BlockTransaction[] = [
  tx(0, [patientRegistered(P1), patientRegistered(P2), patientRegistered(P3)]),
  { ...tx(1, []), event: undefined },
  tx(2, [
    { name: 'DocumentAdded', payload: { document: document(P1, 'd1') } },
    { name: 'DocumentAdded', payload: { document: document(P1, 'd2', { category: 'imaging', type: '18748-4' }) } },
    { name: 'PermissionGranted', payload: { permission: permA } },
    { name: 'PermissionUpdated', payload: { permission: { ...permA, version: 2, rights: ['read', 'write'], categories: ['*'] }, previous: permA } },
    { name: 'DocumentSuperseded', payload: { document: document(P1, 'd3', { supersedes: 'd1' }), superseded: document(P1, 'd1', { status: 'superseded' }) } },
  ]),
  tx(3, [
    { name: 'PermissionRevoked', payload: { permission: { ...permA, version: 3, rights: ['read', 'write'], categories: ['*'], status: 'revoked' } } },
    { name: 'DocumentStatusChanged', payload: { document: document(P1, 'd2', { category: 'imaging', type: '18748-4', status: 'entered-in-error' }), previousStatus: 'current' } },
    {
      name: 'PermissionGranted',
      payload: {
        permission: permission(P1, 'perm-b', { grantee: { kind: 'organization', id: 'HospitalBMSP' }, rights: ['read', 'write', 'share'], categories: [], purpose: 'HRESCH', studyId: 'S-1', anonymize: true, from: '2026-03-01T10:00:00.123456+02:00' }),
      },
    },
  ]),
  tx(4, [{ name: 'PractitionerRegistered', payload: { practitioner: { id: 'HospitalBMSP/Practitioner/lee', msp: 'HospitalBMSP', npi: '1679576722', encryptionKey: KEY, verifiedAt: '2026-03-01T08:00:00.000Z' } } }], { batch: false, msp: 'HospitalBMSP' }),
  tx(5, [{ name: 'OrganizationRegistered', payload: { organization: { msp: 'HospitalBMSP', encryptionKey: KEY, registeredAt: '2026-03-01T08:00:00.000Z' } } }], { batch: false, msp: 'HospitalBMSP' }),
  tx(6, [{ name: 'EmergencyAccess', payload: { permission: permission(P2, 'btg-1', { emergency: true, reason: 'unconscious', purpose: 'BTG', categories: ['*'], grantee: { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/ortiz' } }) } }], { batch: false }),
  tx(7, [{ name: 'AuditAnchored', payload: { anchor: anchor('HospitalAMSP', 1, 'root-1') } }], { batch: false }),
  tx(8, [{ name: 'AuditAnchored', payload: { anchor: anchor('HospitalAMSP', 1, 'root-1-again') } }], { batch: false }),
  tx(9, [{ name: 'AuditAnchored', payload: { anchor: anchor('HospitalAMSP', 2, 'root-2') } }], { batch: false }),
  tx(10, [{ name: 'DocumentAdded', payload: { document: { ...document(P3, 'd4', { category: 'patient-private', author: P3 }), type: undefined as unknown as string } } }]),
];

// Block 6 writes again keys block 5 created: versions must continue from the stored ones.
const block6: BlockTransaction[] = [
  tx(0, [
    { name: 'DocumentKeyRotated', payload: { document: document(P1, 'd3', { supersedes: 'd1', ciphertextSha256: 'cd'.repeat(32), blob: 'blobs/p1/d3-2' }), previousCiphertextSha256: 'ab'.repeat(32) } },
    { name: 'DocumentStatusChanged', payload: { document: document(P1, 'd3', { supersedes: 'd1', ciphertextSha256: 'cd'.repeat(32), blob: 'blobs/p1/d3-2', status: 'entered-in-error' }), previousStatus: 'current' } },
    // categories are free text to the projection: array-literal syntax must survive as data
    { name: 'PermissionUpdated', payload: { permission: permission(P1, 'perm-b', { version: 2, categories: ['a "quoted", {braced}', 'back\\slash', 'NULL', '', 'ünï'] }), previous: permission(P1, 'perm-b') } },
  ]),
  tx(1, [{ name: 'PatientErased', payload: { patient: patientRegistered(P2, 'erased').payload.patient, permissions: [permission(P2, 'btg-1', { status: 'revoked', version: 2, emergency: true })], documents: [] } }], { batch: false }),
  tx(2, [patientRegistered(P3), patientRegistered(P3)]),
  tx(3, [{ name: 'PractitionerRegistered', payload: { practitioner: { id: 'HospitalBMSP/Practitioner/lee', msp: 'HospitalBMSP', npi: '1234567893', encryptionKey: KEY, verifiedAt: '2026-03-02T08:00:00.000Z' } } }]),
  tx(4, [{ name: 'OrganizationRegistered', payload: { organization: { msp: 'HospitalBMSP', encryptionKey: { ...KEY, kid: 'k2' }, registeredAt: '2026-03-02T08:00:00.000Z' } } }]),
];

// The benchmark population's shape, with keys written again across transactions of the same block.
function largeBlock(): BlockTransaction[] {
  const txs = grantBlock(50, 100, 7);
  const again = (index: number, patient: string, i: number, over: Parameters<typeof permission>[2]) => tx(index, [{ name: 'PermissionUpdated', payload: { permission: permission(patient, `pop-${i}`, over) } }]);
  txs.push(again(50, 'pop-7-0', 3, { version: 2, categories: ['*'] }), again(51, 'pop-7-0', 3, { version: 3, status: 'revoked' }), again(52, 'pop-7-49', 99, { version: 2 }));
  txs.push(tx(53, Array.from({ length: 30 }, (_, i) => ({ name: 'DocumentAdded', payload: { document: document('pop-7-1', `doc-${i % 10}`, { status: i < 10 ? 'current' : 'superseded' }) } }))));
  return txs;
}

describe.each(['pglite', 'postgres'] as const)('a block written in bulk on %s', (kind) => {
  let reference: Database;
  let bulkDb: Database;
  const scratch: Awaited<ReturnType<typeof createScratchDatabase>>[] = [];

  const open = async () => {
    if (kind === 'pglite') return openDatabase({ dataDir: null });
    const s = await createScratchDatabase();
    scratch.push(s);
    return openDatabase({ databaseUrl: s.url, dataDir: null });
  };

  beforeAll(async () => {
    reference = await open();
    bulkDb = await open();
  });
  afterAll(async () => {
    await reference?.close();
    await bulkDb?.close();
    for (const s of scratch) await s.drop();
  });

  it('leaves exactly the rows the per-record path leaves for a block of several SubmitBatch transactions with repeated keys', async () => {
    await perRecord(reference, 5, block5);
    await bulk(bulkDb, 5, block5);
    expect(await dump(bulkDb)).toEqual(await dump(reference));

    const permissions = await bulkDb.query<{ id: string; status: string; version: number; rights: string[]; categories: string[]; tx_id: string; emergency: boolean }>(
      'SELECT id, status, version, rights, categories, tx_id, emergency FROM ledger_permissions ORDER BY id',
    );
    expect(permissions.rows).toEqual([
      { id: 'btg-1', status: 'active', version: 1, rights: ['read'], categories: ['*'], tx_id: block5[6].txId, emergency: true },
      { id: 'perm-a', status: 'revoked', version: 3, rights: ['read', 'write'], categories: ['*'], tx_id: block5[3].txId, emergency: false },
      { id: 'perm-b', status: 'active', version: 1, rights: ['read', 'write', 'share'], categories: [], tx_id: block5[3].txId, emergency: false },
    ]);
    const documents = await bulkDb.query<{ id: string; status: string; version: number; type: string | null }>('SELECT id, status, version, type FROM ledger_documents ORDER BY id');
    expect(documents.rows).toEqual([
      { id: 'd1', status: 'superseded', version: 2, type: '11502-2' },
      { id: 'd2', status: 'entered-in-error', version: 2, type: '18748-4' },
      { id: 'd3', status: 'current', version: 1, type: '11502-2' },
      { id: 'd4', status: 'current', version: 1, type: null },
    ]);
    const anchors = await bulkDb.query<{ sequence: string; root: string }>("SELECT sequence::text, record->>'merkleRoot' AS root FROM ledger_audit_anchors ORDER BY sequence");
    expect(anchors.rows).toEqual([
      { sequence: '1', root: 'root-1' },
      { sequence: '2', root: 'root-2' },
    ]);
    expect((await bulkDb.query('SELECT 1 FROM ledger_events')).rows).toHaveLength(18);
  });

  it('continues stored versions in a later block, and a replayed block adds what the per-record path adds', async () => {
    await perRecord(reference, 6, block6);
    await bulk(bulkDb, 6, block6);
    expect(await dump(bulkDb)).toEqual(await dump(reference));
    const d3 = await bulkDb.query<{ version: number; status: string }>("SELECT version, status FROM ledger_documents WHERE id = 'd3'");
    expect(d3.rows).toEqual([{ version: 3, status: 'entered-in-error' }]);
    const b = await bulkDb.query<{ categories: string[] }>("SELECT categories FROM ledger_permissions WHERE id = 'perm-b'");
    expect(b.rows).toEqual([{ categories: ['a "quoted", {braced}', 'back\\slash', 'NULL', '', 'ünï'] }]);

    await perRecord(reference, 5, block5);
    await bulk(bulkDb, 5, block5);
    expect(await dump(bulkDb)).toEqual(await dump(reference));
  });

  it('applyTransactionEvent still writes one transaction as before', async () => {
    const single = tx(0, [{ name: 'PermissionGranted', payload: { permission: permission(P3, 'perm-c') } }, { name: 'PermissionRevoked', payload: { permission: permission(P3, 'perm-c', { status: 'revoked', version: 2 }) } }]);
    await reference.transaction((q) => applyTransactionEventPerRecord(q, 7, single));
    await bulkDb.transaction((q) => applyTransactionEvent(q, 7, single));
    expect(await dump(bulkDb)).toEqual(await dump(reference));
  });

  it('a block larger than one statement (5,000 grants in 50 SubmitBatch transactions, keys written again) matches too', async () => {
    const txs = largeBlock();
    await perRecord(reference, 8, txs);
    await bulk(bulkDb, 8, txs);
    const [got, want] = [await dump(bulkDb), await dump(reference)];
    expect(got.ledger_events).toHaveLength(18 + 8 + 2 + 5_000 + 3 + 30) // blocks 5, 6 (5 replayed adds none), 7, 8;
    expect(got).toEqual(want);
    const docs = await bulkDb.query<{ n: number; v: number }>("SELECT count(*)::int AS n, min(version) AS v FROM ledger_documents WHERE patient = 'pop-7-1'");
    expect(docs.rows).toEqual([{ n: 10, v: 3 }]);
  });
});
