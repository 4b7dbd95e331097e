import type { Queryable } from '../db/database.js';
import { FhirError, unprocessable, type OutcomeIssue } from '../fhir/outcome.js';
import type { Resource } from '../fhir/resource.js';
import { toOutcomeIssue } from '../fhir/validate.js';
import { FhirInputError, parseReference, validateResource } from '../fhir/validation/index.js';
import { MEMBERSHIP_TYPES } from './membership-types.js';

// Issue types that mean the resource is malformed (400) rather than breaking a rule (422), as the router's
// own validation of every create and update decides.
const STRUCTURAL = ['structure', 'invalid', 'value', 'required', 'code-invalid'];

/**
 * Checks a membership resource from a client: R4 validation (malformed: unknown elements, impossible dates
 * → 400; broken invariants → 422), and references: to the wrong type of resource, or to a resource this
 * server does not hold → 422 naming the element.
 */
export async function checkMembershipInput(db: Queryable, resource: Resource, baseUrl: string): Promise<void> {
  const issues = validateResource(resource);
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length > 0) {
    const status = errors.some((i) => STRUCTURAL.includes(i.code)) ? 400 : 422;
    throw failure(status, errors.map(toOutcomeIssue));
  }
  // the validator only warns when a reference names a type its element does not allow
  const wrongTarget = issues.filter((i) => /^Invalid reference/.test(i.diagnostics));
  if (wrongTarget.length > 0) {
    throw failure(422, wrongTarget.map((i) => ({ ...toOutcomeIssue(i), severity: 'error' as const, code: 'processing' as const })));
  }
  for (const { expression, reference } of literalReferences(resource)) {
    let target;
    try {
      target = parseReference(reference, { baseUrl });
    } catch (err) {
      if (err instanceof FhirInputError) throw unprocessable(err.message, [expression]);
      throw err;
    }
    if (!(await exists(db, target.type, target.id))) {
      throw unprocessable(`broken reference "${reference}": ${target.type}/${target.id} is not known to this server`, [expression]);
    }
  }
}

function failure(status: number, issues: OutcomeIssue[]): FhirError {
  const first = issues[0];
  return new FhirError(status, first.code, first.diagnostics ?? 'invalid resource', { issues });
}

async function exists(db: Queryable, type: string, id: string): Promise<boolean> {
  if (!(MEMBERSHIP_TYPES as readonly string[]).includes(type)) return false;
  const { rows } = await db.query('SELECT 1 FROM resources WHERE resource_type = $1 AND id = $2 AND NOT deleted', [type, id]);
  if (rows.length > 0) return true;
  if (type !== 'Patient') return false;
  const ledger = await db.query('SELECT 1 FROM ledger_patients WHERE pseudonym = $1', [id]);
  return ledger.rows.length > 0;
}

/** Every `reference` string of the resource with the FHIRPath-like location of its Reference. */
export function literalReferences(resource: Resource): { expression: string; reference: string }[] {
  const out: { expression: string; reference: string }[] = [];
  const visit = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}[${i}]`));
      return;
    }
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.reference === 'string') out.push({ expression: path, reference: record.reference });
    for (const [key, child] of Object.entries(record)) {
      if (key !== 'reference') visit(child, `${path}.${key}`);
    }
  };
  for (const [key, child] of Object.entries(resource)) {
    if (key !== 'resourceType' && key !== 'meta') visit(child, `${resource.resourceType}.${key}`);
  }
  return out;
}
