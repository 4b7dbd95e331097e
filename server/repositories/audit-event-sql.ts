import { reachSql } from '../decisions/access.js';
import type { Caller } from '../fhir/context.js';
import type { SqlWhere } from './sql-search.js';

/**
 * One audit record: a committed ledger event, an entry of this hospital's read-access log, or a read of one of
 * this hospital's patients served by another hospital (foreign_disclosures, imported by server/audit/disclosures.ts).
 */
export interface AuditRow {
  id: string;
  src: 'ledger' | 'read';
  at: Date | string;
  /** the patient's pseudonym */
  patient: string | null;
  /** C R U D E */
  action: string;
  /** ledger id of who acted: `${msp}/Practitioner/<id>`, a patient's pseudonym, or an MSP id */
  agent: string | null;
  entity_type: string | null;
  entity_id: string | null;
  /** a search's log entry: every resource of the patient it served */
  entity_ids: string[] | null;
  /** the ledger event name, or the kind of read (read, vread, search, download) */
  subtype: string;
  /** the organization that wrote the transaction (ledger) or served the read (log) */
  msp: string;
  purpose: string | null;
  tx_id: string | null;
  block_number: number | string | null;
  payload: Record<string, unknown> | null;
}

// Who acted: migration 004 defines the rule (and indexes it).
const LEDGER_AGENT = 'consentry_ledger_agent(e.event_name, e.payload, e.creator_msp)';

const LEDGER_ACTION = `CASE e.event_name
    WHEN 'PermissionUpdated' THEN 'U'
    WHEN 'DocumentStatusChanged' THEN 'U'
    WHEN 'DocumentKeyRotated' THEN 'U'
    WHEN 'PermissionRevoked' THEN 'D'
    WHEN 'PatientErased' THEN 'D'
    WHEN 'EmergencyAccess' THEN 'E'
    WHEN 'AuditAnchored' THEN 'E'
    ELSE 'C' END`;

const LEDGER_ENTITY_TYPE = `CASE
    WHEN e.payload ? 'permission' THEN 'Consent'
    WHEN e.payload ? 'document' THEN 'DocumentReference'
    WHEN e.payload ? 'practitioner' THEN 'Practitioner'
    WHEN e.payload ? 'patient' THEN 'Patient' END`;

const LEDGER_ENTITY_ID = `COALESCE(e.payload -> 'permission' ->> 'id', e.payload -> 'document' ->> 'id',
    e.payload -> 'practitioner' ->> 'id', e.payload -> 'patient' ->> 'pseudonym')`;

/**
 * Both sources as one relation `ae`, so that filters, totals, sorting and paging apply to them alike.
 * Filters on `ae` reach into each branch (and its indexes) through PostgreSQL's UNION ALL pushdown.
 */
export function auditRowsSql(where: SqlWhere, selfMsp: string): string {
  const self = where.param(selfMsp);
  return `(
    SELECT 'ledger-' || e.block_number || '-' || e.tx_index || '-' || e.event_index AS id, 'ledger'::text AS src,
      e.tx_time AS at, e.patient, ${LEDGER_ACTION} AS action, ${LEDGER_AGENT} AS agent,
      ${LEDGER_ENTITY_TYPE} AS entity_type, ${LEDGER_ENTITY_ID} AS entity_id, NULL::text[] AS entity_ids, e.event_name AS subtype,
      e.creator_msp AS msp, e.payload -> 'permission' ->> 'purpose' AS purpose, e.tx_id, e.block_number, e.payload,
      e.block_number AS o1, e.tx_index AS o2, e.event_index AS o3
    FROM ledger_events e
    UNION ALL
    SELECT 'read-' || l.seq, 'read'::text, l.at, l.patient, 'R'::text, l.agent, l.resource_type, l.resource_id, l.resource_ids, l.action,
      ${self}::text, l.purpose, NULL::text, NULL::bigint, NULL::jsonb, l.seq, 0, 0
    FROM read_access_log l
    UNION ALL
    SELECT 'read-' || d.msp || '-' || d.seq, 'read'::text, d.at, d.patient, 'R'::text, d.agent, d.resource_type, d.resource_id, d.resource_ids, d.action,
      d.msp, d.purpose, NULL::text, NULL::bigint, NULL::jsonb, d.seq, 1, 0
    FROM foreign_disclosures d
  ) ae`;
}

/**
 * Who sees which audit records: a patient every record about them (their history: grants, revokes,
 * uploads, reads); an admin the records of their hospital (its transactions, its patients, its log);
 * a practitioner (and a backend service) the records of what they did. Then narrowed to the token's scope
 * reach (a practitioner's `patient/` scope: records about that patient).
 */
export function visibleAuditSql(where: SqlWhere, caller: Caller): string {
  const visible = ledgerVisibleAuditSql(where, caller);
  const reach = reachSql(caller, { patient: 'ae.patient' }, (v) => where.param(v));
  return reach === 'TRUE' ? visible : `(${visible} AND ${reach})`;
}

function ledgerVisibleAuditSql(where: SqlWhere, caller: Caller): string {
  switch (caller.role) {
    case 'patient':
      return caller.pseudonym ? `ae.patient = ${where.param(caller.pseudonym)}` : 'FALSE';
    case 'practitioner':
      return `ae.agent = ${where.param(caller.ledgerId)}`;
    case 'admin': {
      const msp = where.param(caller.mspId);
      return `(ae.msp = ${msp} OR EXISTS (SELECT 1 FROM ledger_patients lpt WHERE lpt.pseudonym = ae.patient AND lpt.home_msp = ${msp}))`;
    }
  }
}

/** The id's own condition, written on the branch columns so the primary keys are used. */
export function auditIdSql(where: SqlWhere, id: string): string {
  const ledger = /^ledger-(\d{1,15})-(\d{1,9})-(\d{1,9})$/.exec(id);
  if (ledger) return `(ae.src = 'ledger' AND ae.o1 = ${where.param(ledger[1])}::bigint AND ae.o2 = ${where.param(ledger[2])}::int AND ae.o3 = ${where.param(ledger[3])}::int)`;
  const read = /^read-(\d{1,15})$/.exec(id);
  if (read) return `(ae.src = 'read' AND ae.o2 = 0 AND ae.o1 = ${where.param(read[1])}::bigint)`;
  const foreign = /^read-([A-Za-z0-9.]{1,48})-(\d{1,15})$/.exec(id);
  if (foreign) return `(ae.src = 'read' AND ae.o2 = 1 AND ae.msp = ${where.param(foreign[1])} AND ae.o1 = ${where.param(foreign[2])}::bigint)`;
  return 'FALSE';
}
