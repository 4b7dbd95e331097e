import { PROFILE } from '../../profiles/index.js';
import { validateResource } from '../../server/fhir/validation/index.js';

/** The profiles the server claims (CapabilityStatement.supportedProfile) for the types it constrains. */
export const CLAIMED_PROFILE: Record<string, string | undefined> = {
  Consent: PROFILE.consent,
  DocumentReference: PROFILE.documentReference,
};

type Json = Record<string, unknown>;

let checked = 0;

/** How many resources (Bundle entries and outcomes counted one by one) have passed `assertConforms`. */
export function conformingResourceCount(): number {
  return checked;
}

/**
 * Every error in a resource the server sent: R4 (structure, cardinality, invariants, required bindings,
 * real dates) for everything; our profile, and its presence in meta.profile, for Consent and
 * DocumentReference. Bundle entries and outcomes (search outcome, batch response outcome) are checked
 * one by one as well, each with its own profile.
 */
export function conformanceErrors(resource: unknown, where = ''): string[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return [`${where}: not a JSON object`];
  const r = resource as Json;
  const type = String(r.resourceType);
  const at = where || type;
  const profile = CLAIMED_PROFILE[type];
  const errors = validateResource(r, profile ? { profile } : {})
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${at}: ${i.expression ? `${i.expression}: ` : ''}${i.diagnostics}`);
  if (profile && !((r.meta as { profile?: string[] } | undefined)?.profile ?? []).includes(profile)) {
    errors.push(`${at}: meta.profile does not claim ${profile}`);
  }
  checked++;
  if (type === 'Bundle') {
    for (const [i, entry] of ((r.entry as Json[] | undefined) ?? []).entries()) {
      if (entry.resource) errors.push(...conformanceErrors(entry.resource, `${at}.entry[${i}].resource`));
      const outcome = (entry.response as Json | undefined)?.outcome;
      if (outcome) errors.push(...conformanceErrors(outcome, `${at}.entry[${i}].response.outcome`));
    }
  }
  return errors;
}

/** Throws, naming every problem, unless the resource conforms. */
export function assertConforms(resource: unknown, where = ''): void {
  const errors = conformanceErrors(resource, where);
  if (errors.length > 0) throw new Error(`the server sent a non-conforming resource:\n  ${errors.join('\n  ')}`);
}
