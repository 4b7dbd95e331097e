import { decide, type Subject } from '../../chaincode/src/rules.js';
import type { PatientRecord, Permission, Right } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import type { Caller } from '../fhir/context.js';
import type { Reach } from './scope-reach.js';

declare module '../fhir/context.js' {
  interface Caller {
    /**
     * What the token's scopes narrow this request to (set per interaction by the ScopeGuard): a row is
     * reachable when one reach admits it. Absent: the token does not narrow (the ledger alone decides).
     */
    reach?: Reach[];
  }
}

/** Binds values as `$n` placeholders numbered from `first`. */
class Params {
  readonly values: unknown[] = [];
  constructor(private readonly first: number) {}
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.first + this.values.length - 1}`;
  }
}

/**
 * The grantees whose permissions reach the caller (DESIGN §3): a patient is the patient themself; a
 * practitioner their own ledger id (grants to their organization match it by prefix); a backend service
 * (system token) its client id, and its organization when the hospital registered it.
 */
export function subjectsOf(caller: Caller): Subject[] {
  if (caller.role === 'patient') return [{ kind: 'patient', id: caller.pseudonym ?? '' }];
  if (caller.grantKind === 'system') {
    const subjects: Subject[] = [{ kind: 'client', id: caller.clientId ?? '' }];
    if (caller.clientOrganization) subjects.push({ kind: 'organization', id: caller.clientOrganization });
    return subjects;
  }
  return [{ kind: 'practitioner', id: caller.ledgerId }];
}

/**
 * SQL true when the permission row `alias` is granted to one of the caller's grantees (never for a patient,
 * who reaches their own data without a permission): the same matching as the chaincode's granteeMatches.
 */
export function granteeMatchSql(caller: Caller, alias: string, bind: (value: unknown) => string): string {
  if (caller.role === 'patient') return 'FALSE';
  if (caller.grantKind === 'system') {
    const client = `(${alias}.grantee_kind = 'client' AND ${alias}.grantee_id = ${bind(caller.clientId ?? '')})`;
    if (!caller.clientOrganization) return client;
    return `(${client} OR (${alias}.grantee_kind = 'organization' AND ${alias}.grantee_id = ${bind(caller.clientOrganization)}))`;
  }
  const msp = caller.ledgerId.split('/')[0];
  return `((${alias}.grantee_kind = 'practitioner' AND ${alias}.grantee_id = ${bind(caller.ledgerId)}) OR (${alias}.grantee_kind = 'organization' AND ${alias}.grantee_id = ${bind(msp)}))`;
}

/**
 * SQL true when a row is within the caller's scope reach: `patient` names the column holding the patient's
 * pseudonym, `category` the data-category column (omit it for rows without one). TRUE when not narrowed.
 */
export function reachSql(caller: Caller, columns: { patient?: string; patientId?: string; category?: string }, bind: (value: unknown) => string): string {
  if (!caller.reach) return 'TRUE';
  if (caller.reach.length === 0) return 'FALSE';
  const alternatives = caller.reach.map((r) => {
    const conditions: string[] = [];
    if (r.patient) {
      if (columns.patient) conditions.push(`${columns.patient} = ${bind(r.patient.pseudonym)}`);
      else if (columns.patientId) conditions.push(`${columns.patientId} = ${bind(r.patient.id)}`);
    }
    if (r.categories) conditions.push(columns.category ? `${columns.category} = ANY (${bind(r.categories)}::text[])` : 'FALSE');
    return conditions.length ? `(${conditions.join(' AND ')})` : 'TRUE';
  });
  return alternatives.includes('TRUE') ? 'TRUE' : `(${alternatives.join(' OR ')})`;
}

/**
 * The decision of DESIGN §5 for one patient's data, read from the hospital's replica of ledger state
 * (the projection) and decided by the chaincode's own rule function, so the server and the ledger
 * cannot disagree about what a permission means.
 */
export class AccessDecisions {
  constructor(private readonly db: Queryable) {}

  subjectOf(caller: Caller): Subject {
    return subjectsOf(caller)[0];
  }

  async patientRecord(pseudonym: string): Promise<PatientRecord | undefined> {
    const { rows } = await this.db.query<{ record: PatientRecord }>('SELECT record FROM ledger_patients WHERE pseudonym = $1', [pseudonym]);
    return rows[0]?.record;
  }

  async permissionsOf(pseudonym: string): Promise<Permission[]> {
    const { rows } = await this.db.query<{ record: Permission }>('SELECT record FROM ledger_permissions WHERE patient = $1 ORDER BY id', [pseudonym]);
    return rows.map((r) => r.record);
  }

  /** May the caller exercise `right` on the patient's data of `category` at `at`? (any of their grantees) */
  async allowed(caller: Caller, pseudonym: string, right: Right, category: string, at: Date): Promise<boolean> {
    const patient = await this.patientRecord(pseudonym);
    const permissions = patient ? await this.permissionsOf(pseudonym) : [];
    return subjectsOf(caller).some((subject) => decide(patient, permissions, subject, right, category, at.getTime()).allowed);
  }

  /**
   * A SQL condition (over a row with `patient` and `category` columns under alias `d`) true exactly when
   * the caller may read that row at `at`: the patient themself, the document's author, or an active
   * permission to one of the caller's grantees covering the category — and within the token's scope reach.
   * `$n` placeholders start at `firstParam`.
   */
  readableDocumentsSql(caller: Caller, at: Date, firstParam: number): { sql: string; params: unknown[] } {
    const p = new Params(firstParam);
    const reach = reachSql(caller, { patient: 'd.patient', category: 'd.category' }, (v) => p.bind(v));
    const narrowed = reach === 'TRUE' ? '' : ` AND ${reach}`;
    if (caller.role === 'patient') {
      const sql = `(d.patient = ${p.bind(caller.pseudonym ?? '')} AND EXISTS (SELECT 1 FROM ledger_patients lp WHERE lp.pseudonym = d.patient AND lp.status = 'active')${narrowed})`;
      return { sql, params: p.values };
    }
    // a backend service never authors a document, so only a user's ledger id is an author here
    const author = caller.grantKind === 'system' ? '' : `d.author = ${p.bind(caller.ledgerId)} OR `;
    const grantee = granteeMatchSql(caller, 'lperm', (v) => p.bind(v));
    const now = p.bind(at); // the Date itself: QueryCache keys the decision instant by identity
    return {
      sql: `(EXISTS (SELECT 1 FROM ledger_patients lp WHERE lp.pseudonym = d.patient AND lp.status = 'active') AND (
        ${author}EXISTS (
          SELECT 1 FROM ledger_permissions lperm
          WHERE lperm.patient = d.patient
            AND ${grantee}
            AND 'read' = ANY (lperm.rights)
            AND (d.category = ANY (lperm.categories) OR ('*' = ANY (lperm.categories) AND d.category <> 'patient-private'))
            AND lperm.status IN ('active', 'revoked')
            AND lperm.valid_from <= ${now} AND ${now} < lperm.valid_to))${narrowed})`,
      params: p.values,
    };
  }
}
