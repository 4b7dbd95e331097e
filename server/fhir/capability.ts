import { loadProfiles, PROFILE } from '../../profiles/index.js';
import type { RepositoryRegistry } from './registry.js';
import type { ResourceRepository } from './repository.js';

/** `_include` specs each type serves, and the type each one pulls in (resolved in includes.ts). */
const INCLUDES: Record<string, { spec: string; target: string }[]> = {
  DocumentReference: [
    { spec: 'DocumentReference:subject', target: 'Patient' },
    { spec: 'DocumentReference:patient', target: 'Patient' },
  ],
  Consent: [{ spec: 'Consent:patient', target: 'Patient' }],
};

/** `_revinclude` specs served on a search of the key type, and the type each one pulls in. */
const REVINCLUDES: Record<string, { spec: string; source: string }[]> = {
  Patient: [
    { spec: 'DocumentReference:subject', source: 'DocumentReference' },
    { spec: 'DocumentReference:patient', source: 'DocumentReference' },
    { spec: 'Consent:patient', source: 'Consent' },
  ],
};

/**
 * `$validate` on every type, then Consentry's own operations on the types their OperationDefinitions (profiles/)
 * name (routes in membership/, repositories/, emergency/; the conformance suite calls each at the levels its
 * definition declares).
 */
const operationsOf = (type: string) => [
  { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
  ...loadProfiles()
    .operationDefinitions.filter((d) => (d.resource ?? []).includes(type as never))
    .map((d) => ({ name: d.code, definition: d.url! })),
];

/** Operations invoked on the base URL (the FHIR endpoint itself). */
const systemOperations = () => loadProfiles().operationDefinitions.filter((d) => d.system).map((d) => ({ name: d.code, definition: d.url! }));

const PROFILES: Record<string, string> = { Consent: PROFILE.consent, DocumentReference: PROFILE.documentReference };

/**
 * The CapabilityStatement, generated from what the registered repositories really implement: an include
 * is listed only when the type it pulls in is served, since otherwise it could never return anything.
 */
export function capabilityStatement(registry: RepositoryRegistry, opts: { baseUrl: string; software: string; version: string; extraResources?: object[] }) {
  const resources = registry.all().map((repo) => {
    const has = (code: string) => repo.interactions.includes(code as ResourceRepository['interactions'][number]);
    return {
      type: repo.resourceType,
      ...(PROFILES[repo.resourceType] ? { supportedProfile: [PROFILES[repo.resourceType]] } : {}),
      interaction: repo.interactions.map((code) => ({ code })),
      // every resource served carries meta.versionId; every update honours If-Match (412 when stale)
      versioning: has('update') ? 'versioned-update' : 'versioned',
      readHistory: has('vread'),
      updateCreate: has('update') && (repo.updateCreate ?? true),
      conditionalCreate: has('create') && has('search-type'),
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      searchInclude: (INCLUDES[repo.resourceType] ?? []).filter((i) => registry.has(i.target)).map((i) => i.spec),
      searchRevInclude: (REVINCLUDES[repo.resourceType] ?? []).filter((i) => registry.has(i.source)).map((i) => i.spec),
      searchParam: repo.searchParams.map((p) => ({ name: p.name, ...definitionOf(repo.resourceType, p.name), type: p.type, documentation: p.documentation })),
      operation: operationsOf(repo.resourceType),
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    kind: 'instance',
    software: { name: opts.software, version: opts.version },
    implementation: { description: 'Consentry FHIR façade: consents and document metadata on Hyperledger Fabric', url: opts.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: { cors: false, description: 'Bearer JWT issued by this hospital; every response is decided by the ledger' },
        resource: [...resources, ...(opts.extraResources ?? [])],
        interaction: [{ code: 'batch' }, { code: 'transaction' }],
        // $ledger-status (admins only): ledger and replica height, latest blocks, and optionally a ledger:verify run
        operation: systemOperations(),
      },
    ],
  };
}

/** Our own SearchParameters (profiles/) are named by their canonical URL. */
function definitionOf(type: string, name: string): { definition?: string } {
  const sp = loadProfiles().searchParameters.find((s) => s.code === name && (s.base ?? []).includes(type as never));
  return sp?.url ? { definition: sp.url } : {};
}
