import { decide, type Subject } from '../../chaincode/src/rules.js';
import type { PatientRecord, Permission, Right } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import type { Caller } from '../fhir/context.js';

/**
 * The decision of DESIGN §5 for one patient's data, read from the hospital's replica of ledger state
 * (the projection) and decided by the chaincode's own rule function, so the server and the ledger
 * cannot disagree about what a permission means.
 */
export class AccessDecisions {
  constructor(private readonly db: Queryable) {}

  subjectOf(caller: Caller): Subject {
    if (caller.role === 'patient') return { kind: 'patient', id: caller.pseudonym ?? '' };
    return { kind: 'practitioner', id: caller.ledgerId };
  }

  async patientRecord(pseudonym: string): Promise<PatientRecord | undefined> {
    const { rows } = await this.db.query<{ record: PatientRecord }>('SELECT record FROM ledger_patients WHERE pseudonym = $1', [pseudonym]);
    return rows[0]?.record;
  }

  async permissionsOf(pseudonym: string): Promise<Permission[]> {
    const { rows } = await this.db.query<{ record: Permission }>('SELECT record FROM ledger_permissions WHERE patient = $1 ORDER BY id', [pseudonym]);
    return rows.map((r) => r.record);
  }

  /** May the caller exercise `right` on the patient's data of `category` at `at`? */
  async allowed(caller: Caller, pseudonym: string, right: Right, category: string, at: Date): Promise<boolean> {
    const patient = await this.patientRecord(pseudonym);
    const permissions = patient ? await this.permissionsOf(pseudonym) : [];
    return decide(patient, permissions, this.subjectOf(caller), right, category, at.getTime()).allowed;
  }

  /**
   * A SQL condition (over a row with `patient` and `category` columns under alias `d`) true exactly when
   * the caller may read that row at `at`: the patient themself, the document's author, or an active
   * permission covering the category. `$n` placeholders start at `firstParam`.
   */
  readableDocumentsSql(caller: Caller, at: Date, firstParam: number): { sql: string; params: unknown[] } {
    const p = (i: number) => `$${firstParam + i}`;
    if (caller.role === 'patient') {
      return { sql: `(d.patient = ${p(0)} AND EXISTS (SELECT 1 FROM ledger_patients lp WHERE lp.pseudonym = d.patient AND lp.status = 'active'))`, params: [caller.pseudonym ?? ''] };
    }
    const msp = caller.ledgerId.split('/')[0];
    return {
      sql: `(EXISTS (SELECT 1 FROM ledger_patients lp WHERE lp.pseudonym = d.patient AND lp.status = 'active') AND (
        d.author = ${p(0)} OR EXISTS (
          SELECT 1 FROM ledger_permissions lperm
          WHERE lperm.patient = d.patient
            AND ((lperm.grantee_kind = 'practitioner' AND lperm.grantee_id = ${p(0)}) OR (lperm.grantee_kind = 'organization' AND lperm.grantee_id = ${p(1)}))
            AND 'read' = ANY (lperm.rights)
            AND (d.category = ANY (lperm.categories) OR ('*' = ANY (lperm.categories) AND d.category <> 'patient-private'))
            AND lperm.status IN ('active', 'revoked')
            AND lperm.valid_from <= ${p(2)} AND ${p(2)} < lperm.valid_to)))`,
      params: [caller.ledgerId, msp, at.toISOString()],
    };
  }
}
