import type { AuditAnchor, DocumentMeta, OrganizationRecord, PatientRecord, Permission, PractitionerRecord } from '../../chaincode/src/records.js';
import type { BlockTransaction } from './blocks.js';

interface LedgerEvent {
  name: string;
  payload: Record<string, unknown>;
}

export interface Records {
  patients: PatientRecord[];
  practitioners: PractitionerRecord[];
  organizations: OrganizationRecord[];
  permissions: Permission[];
  documents: DocumentMeta[];
  anchors: AuditAnchor[];
}

// Payload keys that hold records as they now stand on the ledger (chaincode/README.md "Events").
// `previous` (PermissionUpdated) is the replaced version and must not be projected.
const RECORD_KEYS = ['patient', 'practitioner', 'organization', 'permission', 'permissions', 'document', 'superseded', 'documents', 'anchor'] as const;

/** The ledger records an event payload carries, by shape, from the keys that hold current records. */
export function collectRecords(payload: Record<string, unknown>): Records {
  const out: Records = { patients: [], practitioners: [], organizations: [], permissions: [], documents: [], anchors: [] };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const v = value as Record<string, unknown>;
    if (typeof v.pseudonym === 'string' && typeof v.homeMsp === 'string') out.patients.push(v as unknown as PatientRecord);
    else if (typeof v.npi === 'string' && typeof v.msp === 'string' && typeof v.id === 'string') out.practitioners.push(v as unknown as PractitionerRecord);
    else if (typeof v.msp === 'string' && typeof v.registeredAt === 'string' && v.encryptionKey) out.organizations.push(v as unknown as OrganizationRecord);
    else if (v.grantee && Array.isArray(v.rights)) out.permissions.push(v as unknown as Permission);
    else if (typeof v.ciphertextSha256 === 'string') out.documents.push(v as unknown as DocumentMeta);
    else if (typeof v.merkleRoot === 'string' && typeof v.msp === 'string') out.anchors.push(v as unknown as AuditAnchor);
  };
  for (const key of RECORD_KEYS) visit(payload[key]);
  return out;
}

/** The transaction that wrote a record's version (block_number, tx_id, updated_at of its row). */
export interface Origin {
  txId: string;
  time: string;
}

export interface EventRow {
  txIndex: number;
  eventIndex: number;
  txId: string;
  name: string;
  patient: string | null;
  creatorMsp: string;
  time: string;
  payload: string;
}

export interface Versioned<R> {
  record: R;
  at: Origin;
}

/** Everything one block writes into the projection, one entry per row key. */
export interface BlockRows {
  events: EventRow[];
  patients: Map<string, Versioned<PatientRecord>>;
  practitioners: Map<string, Versioned<PractitionerRecord>>;
  organizations: Map<string, Versioned<OrganizationRecord>>;
  permissions: Map<string, Versioned<Permission>>;
  /** `writes`: how many times the block wrote the key; each write is a FHIR version (ledger_documents.version) */
  documents: Map<string, Versioned<DocumentMeta> & { writes: number }>;
  anchors: Map<string, Versioned<AuditAnchor>>;
}

const key = (...parts: unknown[]) => JSON.stringify(parts.map((p) => String(p)));

/**
 * Walks a block's transactions (in order, then their events in order) and keeps, per row key, the last
 * version written — what a per-record upsert would leave — except audit anchors, which are insert-only
 * (ON CONFLICT DO NOTHING), so their first version stays.
 */
export function collectBlock(transactions: readonly BlockTransaction[]): BlockRows {
  const rows: BlockRows = { events: [], patients: new Map(), practitioners: new Map(), organizations: new Map(), permissions: new Map(), documents: new Map(), anchors: new Map() };
  for (const tx of transactions) {
    if (!tx.event) continue;
    const payload = JSON.parse(Buffer.from(tx.event.payload).toString('utf8')) as Record<string, unknown>;
    const events: LedgerEvent[] = tx.event.name === 'BatchSubmitted' ? ((payload.events as LedgerEvent[]) ?? []) : [{ name: tx.event.name, payload }];
    const at: Origin = { txId: tx.txId, time: tx.time.toISOString() };
    for (const [eventIndex, event] of events.entries()) {
      const records = collectRecords(event.payload);
      const patient = records.patients[0]?.pseudonym ?? records.permissions[0]?.patient ?? records.documents[0]?.patient ?? (typeof event.payload.patient === 'string' ? event.payload.patient : null);
      rows.events.push({ txIndex: tx.index, eventIndex, txId: tx.txId, name: event.name, patient, creatorMsp: tx.creatorMsp, time: at.time, payload: JSON.stringify(event.payload) });
      for (const r of records.patients) rows.patients.set(key(r.pseudonym), { record: r, at });
      for (const r of records.practitioners) rows.practitioners.set(key(r.id), { record: r, at });
      for (const r of records.organizations) rows.organizations.set(key(r.msp), { record: r, at });
      for (const r of records.permissions) rows.permissions.set(key(r.patient, r.id), { record: r, at });
      for (const r of records.documents) {
        const k = key(r.patient, r.id);
        rows.documents.set(k, { record: r, at, writes: (rows.documents.get(k)?.writes ?? 0) + 1 });
      }
      for (const r of records.anchors) {
        const k = key(r.msp, r.sequence);
        if (!rows.anchors.has(k)) rows.anchors.set(k, { record: r, at });
      }
    }
  }
  return rows;
}
