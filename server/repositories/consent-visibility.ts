import type { Caller } from '../fhir/context.js';

/**
 * Which permissions (rows of ledger_permissions aliased `lp`) a caller may see — the same rule the
 * chaincode applies to ListPermissions: the patient and their home hospital's admins see all of theirs;
 * a practitioner sees grants to them or to their organization; another hospital's admin sees grants to
 * that hospital or its practitioners.
 */
export function visibleConsentsSql(caller: Caller, firstParam: number): { sql: string; params: unknown[] } {
  const p = (i: number) => `$${firstParam + i}`;
  switch (caller.role) {
    case 'patient':
      return { sql: `lp.patient = ${p(0)}`, params: [caller.pseudonym ?? ''] };
    case 'practitioner':
      return {
        sql: `((lp.grantee_kind = 'practitioner' AND lp.grantee_id = ${p(0)}) OR (lp.grantee_kind = 'organization' AND lp.grantee_id = ${p(1)}))`,
        params: [caller.ledgerId, caller.mspId],
      };
    case 'admin':
      return {
        sql: `(EXISTS (SELECT 1 FROM ledger_patients pat WHERE pat.pseudonym = lp.patient AND pat.home_msp = ${p(0)})
               OR (lp.grantee_kind = 'organization' AND lp.grantee_id = ${p(0)})
               OR (lp.grantee_kind = 'practitioner' AND starts_with(lp.grantee_id, ${p(1)})))`,
        params: [caller.mspId, `${caller.mspId}/`],
      };
  }
}
