// The projection's per-record path as it was before blocks were written in bulk (one INSERT per event, one upsert per
// record), kept verbatim as the reference the bulk path must match row for row.
import type { AuditAnchor, DocumentMeta, OrganizationRecord, PatientRecord, Permission, PractitionerRecord } from '../../chaincode/src/records.js';
import type { Queryable } from '../../server/db/database.js';
import type { BlockTransaction } from '../../server/ledger/blocks.js';
import { collectRecords } from '../../server/ledger/projection-apply.js';

interface LedgerEvent {
  name: string;
  payload: Record<string, unknown>;
}

export async function applyTransactionEventPerRecord(db: Queryable, blockNumber: number, tx: BlockTransaction): Promise<void> {
  if (!tx.event) return;
  const payload = JSON.parse(Buffer.from(tx.event.payload).toString('utf8')) as Record<string, unknown>;
  const events: LedgerEvent[] = tx.event.name === 'BatchSubmitted' ? ((payload.events as LedgerEvent[]) ?? []) : [{ name: tx.event.name, payload }];
  for (const [eventIndex, event] of events.entries()) {
    const records = collectRecords(event.payload);
    const patient = records.patients[0]?.pseudonym ?? records.permissions[0]?.patient ?? records.documents[0]?.patient ?? (typeof event.payload.patient === 'string' ? event.payload.patient : null);
    await db.query(
      `INSERT INTO ledger_events (block_number, tx_index, event_index, tx_id, event_name, patient, creator_msp, tx_time, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [blockNumber, tx.index, eventIndex, tx.txId, event.name, patient, tx.creatorMsp, tx.time.toISOString(), JSON.stringify(event.payload)],
    );
    const at = { blockNumber, txId: tx.txId, time: tx.time.toISOString() };
    for (const r of records.patients) await upsertPatient(db, r, at);
    for (const r of records.practitioners) await upsertPractitioner(db, r, at);
    for (const r of records.organizations) await upsertOrganization(db, r, at);
    for (const r of records.permissions) await upsertPermission(db, r, at);
    for (const r of records.documents) await upsertDocument(db, r, at);
    for (const r of records.anchors) await upsertAnchor(db, r, at);
  }
}

interface Origin {
  blockNumber: number;
  txId: string;
  time: string;
}

function upsertPatient(db: Queryable, r: PatientRecord, at: Origin) {
  return db.query(
    `INSERT INTO ledger_patients (pseudonym, home_msp, status, record, block_number, tx_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (pseudonym) DO UPDATE SET home_msp = $2, status = $3, record = $4, block_number = $5, tx_id = $6`,
    [r.pseudonym, r.homeMsp, r.status, JSON.stringify(r), at.blockNumber, at.txId],
  );
}

function upsertPractitioner(db: Queryable, r: PractitionerRecord, at: Origin) {
  return db.query(
    `INSERT INTO ledger_practitioners (id, msp, npi, record, block_number, tx_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET msp = $2, npi = $3, record = $4, block_number = $5, tx_id = $6`,
    [r.id, r.msp, r.npi, JSON.stringify(r), at.blockNumber, at.txId],
  );
}

function upsertOrganization(db: Queryable, r: OrganizationRecord, at: Origin) {
  return db.query(
    `INSERT INTO ledger_organizations (msp, record, block_number, tx_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (msp) DO UPDATE SET record = $2, block_number = $3, tx_id = $4`,
    [r.msp, JSON.stringify(r), at.blockNumber, at.txId],
  );
}

function upsertPermission(db: Queryable, r: Permission, at: Origin) {
  return db.query(
    `INSERT INTO ledger_permissions (patient, id, status, grantee_kind, grantee_id, rights, categories, valid_from, valid_to, purpose, emergency, version, record, block_number, tx_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (patient, id) DO UPDATE SET status = $3, grantee_kind = $4, grantee_id = $5, rights = $6, categories = $7, valid_from = $8,
       valid_to = $9, purpose = $10, emergency = $11, version = $12, record = $13, block_number = $14, tx_id = $15, updated_at = $16`,
    [r.patient, r.id, r.status, r.grantee.kind, r.grantee.id, r.rights, r.categories, r.from, r.to, r.purpose ?? null, r.emergency === true, r.version ?? 1, JSON.stringify(r), at.blockNumber, at.txId, at.time],
  );
}

function upsertDocument(db: Queryable, r: DocumentMeta, at: Origin) {
  return db.query(
    `INSERT INTO ledger_documents (patient, id, category, type, author, author_msp, status, created_at, record, block_number, tx_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (patient, id) DO UPDATE SET category = $3, type = $4, author = $5, author_msp = $6, status = $7, created_at = $8,
       record = $9, block_number = $10, tx_id = $11, updated_at = $12, version = ledger_documents.version + 1`,
    [r.patient, r.id, r.category, r.type ?? null, r.author, r.authorMsp, r.status, r.createdAt, JSON.stringify(r), at.blockNumber, at.txId, at.time],
  );
}

function upsertAnchor(db: Queryable, r: AuditAnchor, at: Origin) {
  return db.query(
    `INSERT INTO ledger_audit_anchors (msp, sequence, record, block_number, tx_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (msp, sequence) DO NOTHING`,
    [r.msp, r.sequence, JSON.stringify(r), at.blockNumber, at.txId],
  );
}
