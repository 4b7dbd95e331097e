// What a SMART token's scopes let a request reach, before the ledger decides (decision = scopes ∩ ledger).
import { CATEGORIES, coversCategory } from '../../chaincode/src/categories.js';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import type { Caller } from '../fhir/context.js';
import { resourceScopes, type Interaction, type ResourceScope, type ScopeContext } from '../smart/scopes.js';

/** One way a request may be reached through the token's scopes; a row is in reach when one admits it. */
export interface Reach {
  /** only this patient's data: a practitioner's `patient/` scope, bound to the launch context */
  patient?: { id: string; pseudonym: string };
  /** only these data categories (a `?category=` constraint, or the categories a patient gave the app) */
  categories?: string[];
}

/** A reach before the patient's pseudonym is looked up. */
export interface ReachSpec {
  patientId?: string;
  categories?: string[];
}

/** Types whose rows carry a data category (Binary follows its DocumentReference). */
export const DOCUMENT_TYPES: readonly string[] = ['DocumentReference', 'Binary'];
const CONSENT_CATEGORY = { system: 'http://loinc.org', code: '59284-0' };

/**
 * The scopes of the caller's token that cover `interaction` on one of `types`, as reaches; an empty list
 * when none does (the request is refused, 403). Undefined when the caller's token does not narrow by scope
 * (an operator token of `npm run token` without `--scope`).
 *
 * Which scopes count depends on who is behind the token: a backend service (system) its `system/` scopes;
 * a patient their `patient/` and `user/` scopes, which reach only their own data anyway; a practitioner
 * their `user/` scopes, and `patient/` scopes only for the patient in the launch context.
 */
export function scopeReach(caller: Caller, types: readonly string[], interaction: Interaction): ReachSpec[] | undefined {
  if (!caller.grantKind || caller.unscoped) return undefined;
  const out: ReachSpec[] = [];
  for (const scope of resourceScopes(caller.parsedScopes ?? [])) {
    if (scope.resourceType !== '*' && !types.includes(scope.resourceType)) continue;
    if (!scope.interactions.includes(interaction)) continue;
    const bound = boundTo(caller, scope.context);
    if (!bound) continue;
    const categories = categoriesOf(scope, types);
    if (categories?.length === 0) continue;
    if (!bound.patientId && !categories) return [{}];
    out.push({ ...bound, ...(categories ? { categories } : {}) });
  }
  return out;
}

function boundTo(caller: Caller, context: ScopeContext): { patientId?: string } | undefined {
  switch (caller.grantKind) {
    case 'system':
      return context === 'system' ? {} : undefined;
    case 'patient':
      return context === 'system' ? undefined : {};
    case 'user':
      if (context === 'user') return {};
      return context === 'patient' && caller.patientContext ? { patientId: caller.patientContext } : undefined;
    default:
      return undefined;
  }
}

/** The categories a scope's `?category=` constraint admits for these types (undefined: no constraint). */
function categoriesOf(scope: ResourceScope, types: readonly string[]): string[] | undefined {
  const c = scope.category;
  if (!c) return undefined;
  if (types.some((t) => DOCUMENT_TYPES.includes(t))) {
    if (c.system && c.system !== DATA_CATEGORY_SYSTEM) return [];
    return (CATEGORIES as readonly string[]).includes(c.code) ? [c.code] : [];
  }
  // every Consent here has the one category LOINC 59284-0; the other types have none a scope could name
  if (types.includes('Consent') && c.code === CONSENT_CATEGORY.code && (!c.system || c.system === CONSENT_CATEGORY.system)) return undefined;
  return [];
}

/** The data categories a permission's category list covers ("*" is every one but patient-private). */
export function coveredCategories(granted: readonly string[]): string[] {
  return CATEGORIES.filter((c) => coversCategory(granted, c));
}
