// Consentry's FHIR conformance resources (the JSON files beside this module) and their canonical URLs.
// Files are read once, on first use.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, OperationDefinition, Resource, SearchParameter, StructureDefinition, ValueSet } from '@medplum/fhirtypes';

export const CONSENTRY_FHIR_BASE = 'http://consentry.example/fhir';

export const PROFILE = {
  consent: `${CONSENTRY_FHIR_BASE}/StructureDefinition/consentry-consent`,
  documentReference: `${CONSENTRY_FHIR_BASE}/StructureDefinition/consentry-documentreference`,
} as const;

export const EXTENSION = {
  ledgerTxId: `${CONSENTRY_FHIR_BASE}/StructureDefinition/ledger-tx-id`,
  ledgerBlockNumber: `${CONSENTRY_FHIR_BASE}/StructureDefinition/ledger-block-number`,
  ciphertextSha256: `${CONSENTRY_FHIR_BASE}/StructureDefinition/ciphertext-sha256`,
  emergencyAccess: `${CONSENTRY_FHIR_BASE}/StructureDefinition/emergency-access`,
  emergencyReason: `${CONSENTRY_FHIR_BASE}/StructureDefinition/emergency-reason`,
  granteeKind: `${CONSENTRY_FHIR_BASE}/StructureDefinition/grantee-kind`,
  researchStudyId: `${CONSENTRY_FHIR_BASE}/StructureDefinition/research-study-id`,
  anonymize: `${CONSENTRY_FHIR_BASE}/StructureDefinition/anonymize`,
  ledgerDocumentStatus: `${CONSENTRY_FHIR_BASE}/StructureDefinition/ledger-document-status`,
} as const;

export const DATA_CATEGORY_SYSTEM = `${CONSENTRY_FHIR_BASE}/CodeSystem/data-category`;
export const DATA_CATEGORY_VALUESET = `${CONSENTRY_FHIR_BASE}/ValueSet/data-category`;

export const SEARCH_PARAMETER = {
  consentDataCategory: `${CONSENTRY_FHIR_BASE}/SearchParameter/consent-data-category`,
  consentGranteeKind: `${CONSENTRY_FHIR_BASE}/SearchParameter/consent-grantee-kind`,
  ledgerTx: `${CONSENTRY_FHIR_BASE}/SearchParameter/ledger-tx`,
} as const;

export type ConformanceResource = StructureDefinition | CodeSystem | ValueSet | SearchParameter | OperationDefinition;

export interface ProfileSet {
  structureDefinitions: StructureDefinition[];
  codeSystems: CodeSystem[];
  valueSets: ValueSet[];
  searchParameters: SearchParameter[];
  /** Consentry's own operations (the CapabilityStatement lists them from here) */
  operationDefinitions: OperationDefinition[];
  byUrl: ReadonlyMap<string, ConformanceResource>;
}

export const PROFILES_DIR = dirname(fileURLToPath(import.meta.url));

let cached: ProfileSet | undefined;
let cachedExamples: Resource[] | undefined;

function readJsonFiles(dir: string): Resource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Resource);
}

/** Every StructureDefinition, CodeSystem, ValueSet, SearchParameter and OperationDefinition of profiles/. */
export function loadProfiles(): ProfileSet {
  if (cached) return cached;
  const set: ProfileSet = { structureDefinitions: [], codeSystems: [], valueSets: [], searchParameters: [], operationDefinitions: [], byUrl: new Map() };
  const byUrl = new Map<string, ConformanceResource>();
  for (const r of readJsonFiles(PROFILES_DIR)) {
    if (r.resourceType === 'StructureDefinition') set.structureDefinitions.push(r);
    else if (r.resourceType === 'CodeSystem') set.codeSystems.push(r);
    else if (r.resourceType === 'ValueSet') set.valueSets.push(r);
    else if (r.resourceType === 'SearchParameter') set.searchParameters.push(r);
    else if (r.resourceType === 'OperationDefinition') set.operationDefinitions.push(r);
    else throw new Error(`profiles/ holds an unexpected ${r.resourceType}`);
    const url = (r as ConformanceResource).url;
    if (!url) throw new Error(`profiles/ ${r.resourceType}/${r.id} has no url`);
    byUrl.set(url, r as ConformanceResource);
  }
  set.byUrl = byUrl;
  cached = set;
  return set;
}

/** The conformance resource with this canonical URL (a `|version` suffix is ignored). */
export function conformanceResource(canonical: string): ConformanceResource | undefined {
  return loadProfiles().byUrl.get(canonical.split('|')[0]);
}

export function structureDefinition(canonical: string): StructureDefinition | undefined {
  const r = conformanceResource(canonical);
  return r?.resourceType === 'StructureDefinition' ? r : undefined;
}

/** The example resources of profiles/examples/ (seed scenario of DESIGN §7). */
export function loadExamples(): Resource[] {
  cachedExamples ??= readJsonFiles(join(PROFILES_DIR, 'examples'));
  return cachedExamples;
}

export interface DataCategory {
  code: string;
  display: string;
  definition: string;
}

/** The concepts of the data-category CodeSystem, in its order. */
export function dataCategories(): DataCategory[] {
  const cs = conformanceResource(DATA_CATEGORY_SYSTEM) as CodeSystem | undefined;
  if (!cs?.concept) throw new Error('profiles/ lacks the data-category CodeSystem');
  return cs.concept.map((c) => ({ code: c.code ?? '', display: c.display ?? '', definition: c.definition ?? '' }));
}
