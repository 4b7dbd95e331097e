import { PROFILE } from '../../profiles/index.js';
import type { RepositoryRegistry } from './registry.js';

/** The CapabilityStatement, generated from what the registered repositories really implement. */
export function capabilityStatement(registry: RepositoryRegistry, opts: { baseUrl: string; software: string; version: string; extraResources?: object[] }) {
  const resources = registry.all().map((repo) => ({
    type: repo.resourceType,
    ...(repo.resourceType === 'Consent' ? { supportedProfile: [PROFILE.consent] } : {}),
    ...(repo.resourceType === 'DocumentReference' ? { supportedProfile: [PROFILE.documentReference] } : {}),
    interaction: repo.interactions.map((code) => ({ code })),
    versioning: repo.interactions.includes('vread') ? 'versioned' : 'no-version',
    readHistory: repo.interactions.includes('vread'),
    updateCreate: repo.interactions.includes('update'),
    conditionalCreate: repo.interactions.includes('create') && repo.interactions.includes('search-type'),
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchInclude: repo.resourceType === 'DocumentReference' ? ['DocumentReference:subject', 'DocumentReference:patient'] : repo.resourceType === 'Consent' ? ['Consent:patient'] : [],
    searchRevInclude: repo.resourceType === 'Patient' ? ['DocumentReference:subject', 'DocumentReference:patient', 'Consent:patient'] : [],
    searchParam: repo.searchParams.map((p) => ({ name: p.name, type: p.type, documentation: p.documentation })),
    operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
  }));
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
      },
    ],
  };
}
