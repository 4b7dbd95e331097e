import type { Queryable } from '../db/database.js';
import { arrayLiteral } from '../db/array-literal.js';
import type { BlockRows } from './projection-rows.js';

/** Rows per statement: the parameter count is fixed (one array per column), this bounds the message size. */
const CHUNK = 2_000;

const nul = <T>(v: T | undefined): T | null => v ?? null;
async function inChunks<T>(items: readonly T[], write: (chunk: readonly T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await write(items.slice(i, i + CHUNK));
}

/**
 * Writes one block's projection rows: one statement per table (per CHUNK rows), with the same columns and
 * conflict rules as a per-record upsert. Keys are unique within `rows` (collectBlock), which an
 * ON CONFLICT DO UPDATE statement requires.
 */
export async function writeBlockRows(db: Queryable, blockNumber: number, rows: BlockRows): Promise<void> {
  await inChunks(rows.events, (c) =>
    db.query(
      `INSERT INTO ledger_events (block_number, tx_index, event_index, tx_id, event_name, patient, creator_msp, tx_time, payload)
       SELECT $1::bigint, u.tx_index, u.event_index, u.tx_id, u.event_name, u.patient, u.creator_msp, u.tx_time, u.payload::jsonb
       FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[])
         AS u(tx_index, event_index, tx_id, event_name, patient, creator_msp, tx_time, payload)
       ON CONFLICT DO NOTHING`,
      [blockNumber, c.map((e) => e.txIndex), c.map((e) => e.eventIndex), c.map((e) => e.txId), c.map((e) => e.name), c.map((e) => e.patient), c.map((e) => e.creatorMsp), c.map((e) => e.time), c.map((e) => e.payload)],
    ),
  );
  await inChunks([...rows.patients.values()], (c) =>
    db.query(
      `INSERT INTO ledger_patients (pseudonym, home_msp, status, record, block_number, tx_id)
       SELECT u.pseudonym, u.home_msp, u.status, u.record::jsonb, $1::bigint, u.tx_id
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(pseudonym, home_msp, status, record, tx_id)
       ON CONFLICT (pseudonym) DO UPDATE SET home_msp = EXCLUDED.home_msp, status = EXCLUDED.status, record = EXCLUDED.record,
         block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id`,
      [blockNumber, c.map((p) => p.record.pseudonym), c.map((p) => nul(p.record.homeMsp)), c.map((p) => nul(p.record.status)), c.map((p) => JSON.stringify(p.record)), c.map((p) => p.at.txId)],
    ),
  );
  await inChunks([...rows.practitioners.values()], (c) =>
    db.query(
      `INSERT INTO ledger_practitioners (id, msp, npi, record, block_number, tx_id)
       SELECT u.id, u.msp, u.npi, u.record::jsonb, $1::bigint, u.tx_id
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(id, msp, npi, record, tx_id)
       ON CONFLICT (id) DO UPDATE SET msp = EXCLUDED.msp, npi = EXCLUDED.npi, record = EXCLUDED.record,
         block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id`,
      [blockNumber, c.map((p) => p.record.id), c.map((p) => p.record.msp), c.map((p) => p.record.npi), c.map((p) => JSON.stringify(p.record)), c.map((p) => p.at.txId)],
    ),
  );
  await inChunks([...rows.organizations.values()], (c) =>
    db.query(
      `INSERT INTO ledger_organizations (msp, record, block_number, tx_id)
       SELECT u.msp, u.record::jsonb, $1::bigint, u.tx_id
       FROM unnest($2::text[], $3::text[], $4::text[]) AS u(msp, record, tx_id)
       ON CONFLICT (msp) DO UPDATE SET record = EXCLUDED.record, block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id`,
      [blockNumber, c.map((o) => o.record.msp), c.map((o) => JSON.stringify(o.record)), c.map((o) => o.at.txId)],
    ),
  );
  await inChunks([...rows.permissions.values()], (c) =>
    db.query(
      `INSERT INTO ledger_permissions (patient, id, status, grantee_kind, grantee_id, rights, categories, valid_from, valid_to, purpose, emergency, version, record, block_number, tx_id, updated_at)
       SELECT u.patient, u.id, u.status, u.grantee_kind, u.grantee_id, u.rights::text[], u.categories::text[], u.valid_from, u.valid_to,
         u.purpose, u.emergency, u.version, u.record::jsonb, $1::bigint, u.tx_id, u.updated_at
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[],
         $11::text[], $12::boolean[], $13::int[], $14::text[], $15::text[], $16::timestamptz[])
         AS u(patient, id, status, grantee_kind, grantee_id, rights, categories, valid_from, valid_to, purpose, emergency, version, record, tx_id, updated_at)
       ON CONFLICT (patient, id) DO UPDATE SET status = EXCLUDED.status, grantee_kind = EXCLUDED.grantee_kind, grantee_id = EXCLUDED.grantee_id,
         rights = EXCLUDED.rights, categories = EXCLUDED.categories, valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to,
         purpose = EXCLUDED.purpose, emergency = EXCLUDED.emergency, version = EXCLUDED.version, record = EXCLUDED.record,
         block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id, updated_at = EXCLUDED.updated_at`,
      [
        blockNumber,
        c.map((p) => p.record.patient),
        c.map((p) => p.record.id),
        c.map((p) => nul(p.record.status)),
        c.map((p) => nul(p.record.grantee.kind)),
        c.map((p) => nul(p.record.grantee.id)),
        c.map((p) => arrayLiteral(p.record.rights)),
        c.map((p) => arrayLiteral(p.record.categories)),
        c.map((p) => nul(p.record.from)),
        c.map((p) => nul(p.record.to)),
        c.map((p) => p.record.purpose ?? null),
        c.map((p) => p.record.emergency === true),
        c.map((p) => p.record.version ?? 1),
        c.map((p) => JSON.stringify(p.record)),
        c.map((p) => p.at.txId),
        c.map((p) => p.at.time),
      ],
    ),
  );
  // A new row starts at version 1 (the column default, migration 003) and every later write adds 1, so a key
  // written n times in this block ends at n when new, or at its stored version + n.
  await inChunks([...rows.documents.values()], (c) =>
    db.query(
      `INSERT INTO ledger_documents (patient, id, category, type, author, author_msp, status, created_at, record, block_number, tx_id, updated_at, version)
       SELECT u.patient, u.id, u.category, u.type, u.author, u.author_msp, u.status, u.created_at, u.record::jsonb, $1::bigint, u.tx_id, u.updated_at, u.writes
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[],
         $12::timestamptz[], $13::int[])
         AS u(patient, id, category, type, author, author_msp, status, created_at, record, tx_id, updated_at, writes)
       ON CONFLICT (patient, id) DO UPDATE SET category = EXCLUDED.category, type = EXCLUDED.type, author = EXCLUDED.author,
         author_msp = EXCLUDED.author_msp, status = EXCLUDED.status, created_at = EXCLUDED.created_at, record = EXCLUDED.record,
         block_number = EXCLUDED.block_number, tx_id = EXCLUDED.tx_id, updated_at = EXCLUDED.updated_at,
         version = ledger_documents.version + EXCLUDED.version`,
      [
        blockNumber,
        c.map((d) => d.record.patient),
        c.map((d) => d.record.id),
        c.map((d) => nul(d.record.category)),
        c.map((d) => d.record.type ?? null),
        c.map((d) => nul(d.record.author)),
        c.map((d) => nul(d.record.authorMsp)),
        c.map((d) => nul(d.record.status)),
        c.map((d) => nul(d.record.createdAt)),
        c.map((d) => JSON.stringify(d.record)),
        c.map((d) => d.at.txId),
        c.map((d) => d.at.time),
        c.map((d) => d.writes),
      ],
    ),
  );
  await inChunks([...rows.anchors.values()], (c) =>
    db.query(
      `INSERT INTO ledger_audit_anchors (msp, sequence, record, block_number, tx_id)
       SELECT u.msp, u.sequence, u.record::jsonb, $1::bigint, u.tx_id
       FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) AS u(msp, sequence, record, tx_id)
       ON CONFLICT (msp, sequence) DO NOTHING`,
      [blockNumber, c.map((a) => a.record.msp), c.map((a) => a.record.sequence), c.map((a) => JSON.stringify(a.record)), c.map((a) => a.at.txId)],
    ),
  );
}
