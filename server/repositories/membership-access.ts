import { granteeMatchSql, reachSql } from '../decisions/access.js';
import type { RequestContext } from '../fhir/context.js';
import type { Resource } from '../fhir/resource.js';
import type { SqlWhere } from './sql-search.js';
import { PSEUDONYM_SYSTEM, type MembershipType } from './membership-types.js';

/** One candidate row of a membership search: a stored resource, or (Patient) a patient of another hospital. */
export interface MembershipRow {
  id: string;
  last_updated: Date | string;
  resource: Resource | null;
  /** the patient's ledger pseudonym (Patient only) */
  pseudonym: string | null;
  /** set for a patient enrolled at another hospital, who has no resource here */
  home_msp: string | null;
}

const FOREIGN_TAG_SYSTEM = 'http://consentry.example/fhir/CodeSystem/record-origin';

/**
 * The rows `r` of one type the caller may read, as a FROM item; adds the visibility condition to `where`.
 * Practitioners, organizations and roles: every user of the hospital. Patients: the patient themself,
 * the hospital's admins, and practitioners with a current ledger permission for that patient (to them or
 * to their organization) or who authored one of the patient's documents; for those practitioners the
 * patients of other hospitals appear too, under their pseudonym. A backend service sees the patients whose
 * permissions are granted to it (or to the organization that registered it). Then narrowed to the token's
 * scope reach (a practitioner's `patient/` scope: the patient in the launch context).
 */
export function visibleRowsSql(ctx: RequestContext, type: MembershipType, where: SqlWhere): string {
  const local = (t: string) =>
    `SELECT r0.id, r0.last_updated, r0.resource, ${type === 'Patient' ? 'pp.pseudonym' : 'NULL::text'} AS pseudonym, NULL::text AS home_msp
     FROM resources r0 ${type === 'Patient' ? 'LEFT JOIN patient_pseudonyms pp ON pp.patient_id = r0.id' : ''}
     WHERE r0.resource_type = ${t} AND NOT r0.deleted`;
  const t = where.param(type);
  if (type !== 'Patient') return `(${local(t)}) r`;
  const reach = reachSql(ctx.caller, { patientId: 'r.id' }, (v) => where.param(v));
  if (reach !== 'TRUE') where.add(reach);
  return visiblePatientsSql(ctx, where, local(t), t);
}

function visiblePatientsSql(ctx: RequestContext, where: SqlWhere, local: string, t: string): string {
  const caller = ctx.caller;
  switch (caller.role) {
    case 'admin':
      return `(${local}) r`;
    case 'patient':
      where.add(`r.id = ${where.param(caller.fhirUser.replace(/^Patient\//, ''))}`);
      return `(${local}) r`;
    case 'practitioner': {
      const grantee = granteeMatchSql(caller, 'lperm', (v) => where.param(v));
      const now = where.param(ctx.now.toISOString());
      // a backend service authors no documents; a practitioner sees the patients of the documents they wrote
      const authored = caller.grantKind === 'system' ? '' : `\n          UNION SELECT d.patient FROM ledger_documents d WHERE d.author = ${where.param(caller.ledgerId)}`;
      // driven by the caller's own permissions and documents, so the cost follows what they may see
      const permitted = `SELECT lperm.patient FROM ledger_permissions lperm
          WHERE ${grantee}
            AND lperm.status = 'active' AND lperm.valid_from <= ${now} AND ${now} < lperm.valid_to${authored}`;
      where.add(`NOT EXISTS (SELECT 1 FROM ledger_patients lpt WHERE lpt.pseudonym = r.pseudonym AND lpt.status <> 'active')`);
      return `(SELECT r0.id, r0.last_updated, r0.resource, pp.pseudonym, NULL::text AS home_msp
          FROM patient_pseudonyms pp JOIN resources r0 ON r0.resource_type = ${t} AND r0.id = pp.patient_id AND NOT r0.deleted
          WHERE pp.pseudonym IN (${permitted})
        UNION ALL
        SELECT lpt.pseudonym, (lpt.record ->> 'createdAt')::timestamptz, NULL::jsonb, lpt.pseudonym, lpt.home_msp
          FROM ledger_patients lpt
          WHERE lpt.pseudonym IN (${permitted}) AND lpt.home_msp <> ${where.param(ctx.mspId)}
            AND NOT EXISTS (SELECT 1 FROM patient_pseudonyms x WHERE x.pseudonym = lpt.pseudonym)) r`;
    }
  }
}

/**
 * What this hospital can say about a patient enrolled elsewhere: who they are on the ledger, plus the demographics
 * the patient shared with the caller through their home hospital (`shared`), if any.
 */
export function foreignPatient(row: MembershipRow, shared?: Record<string, unknown>): Resource {
  const home = row.home_msp ?? 'another hospital';
  const tag = shared
    ? { system: FOREIGN_TAG_SYSTEM, code: 'shared-demographics', display: `Demographics shared by the patient through their home hospital (${home})` }
    : { system: FOREIGN_TAG_SYSTEM, code: 'home-hospital-demographics', display: `Demographics are held by the patient's home hospital (${home})` };
  return {
    resourceType: 'Patient',
    id: row.id,
    meta: { versionId: '1', lastUpdated: new Date(row.last_updated).toISOString(), tag: [tag] },
    ...shared,
    identifier: [{ system: PSEUDONYM_SYSTEM, value: row.id }],
    managingOrganization: { identifier: { system: 'urn:consentry:msp', value: home }, display: home },
  };
}
