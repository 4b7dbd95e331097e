import { granteeMatchSql, reachSql } from '../decisions/access.js';
import type { Caller } from '../fhir/context.js';

/**
 * Which permissions (rows of ledger_permissions aliased `lp`) a caller may see — the same rule the
 * chaincode applies to ListPermissions: the patient and their home hospital's admins see all of theirs;
 * a practitioner sees grants to them or to their organization; a backend service grants to it (or to the
 * organization that registered it); another hospital's admin sees grants to that hospital or its
 * practitioners. Then narrowed to the token's scope reach (a practitioner's `patient/` scope: one patient).
 */
export function visibleConsentsSql(caller: Caller, firstParam: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const visible = ledgerVisibleSql(caller, bind);
  const reach = reachSql(caller, { patient: 'lp.patient' }, bind);
  return { sql: reach === 'TRUE' ? visible : `(${visible} AND ${reach})`, params };
}

function ledgerVisibleSql(caller: Caller, bind: (value: unknown) => string): string {
  switch (caller.role) {
    case 'patient':
      return `lp.patient = ${bind(caller.pseudonym ?? '')}`;
    case 'practitioner':
      return granteeMatchSql(caller, 'lp', bind);
    case 'admin': {
      const msp = bind(caller.mspId);
      return `(EXISTS (SELECT 1 FROM ledger_patients pat WHERE pat.pseudonym = lp.patient AND pat.home_msp = ${msp})
               OR (lp.grantee_kind = 'organization' AND lp.grantee_id = ${msp})
               OR (lp.grantee_kind = 'practitioner' AND starts_with(lp.grantee_id, ${bind(`${caller.mspId}/`)})))`;
    }
  }
}
