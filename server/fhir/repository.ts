import type { RequestContext } from './context.js';
import type { Resource } from './resource.js';
import type { SearchRequest } from './search/request.js';

export type Interaction = 'read' | 'vread' | 'search-type' | 'create' | 'update' | 'delete' | 'history-instance';

export type SearchParamType = 'string' | 'token' | 'date' | 'reference' | 'number' | 'uri';

export interface SearchParamDef {
  name: string;
  type: SearchParamType;
  documentation: string;
}

export interface SearchResult {
  /** the page, already filtered to what the caller may see */
  resources: Resource[];
  /** matches the caller may see, over all pages */
  total: number;
}

/**
 * One resource type's storage and access policy. The policy is applied inside the repository, so
 * no interaction (search, include, history, batch) can reach a row the caller may not see; a row the
 * caller may not see answers exactly like one that does not exist.
 */
export interface ResourceRepository {
  readonly resourceType: string;
  readonly interactions: readonly Interaction[];
  readonly searchParams: readonly SearchParamDef[];
  /** sortable parameters besides _lastUpdated */
  readonly sortParams?: readonly string[];
  /** whether `update` of an id that does not exist creates it (default: yes, when update is supported) */
  readonly updateCreate?: boolean;
  read(ctx: RequestContext, id: string): Promise<Resource>;
  vread?(ctx: RequestContext, id: string, versionId: string): Promise<Resource>;
  search?(ctx: RequestContext, request: SearchRequest): Promise<SearchResult>;
  create?(ctx: RequestContext, resource: Resource): Promise<Resource>;
  update?(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }>;
  delete?(ctx: RequestContext, id: string): Promise<void>;
  history?(ctx: RequestContext, id: string): Promise<Resource[]>;
}

/** A write turned into one chaincode operation, so a FHIR transaction can submit all of them as one SubmitBatch. */
export interface PreparedLedgerWrite {
  op: { fn: string; args: string[] };
  /** the response entry once the batch has committed (and the replica caught up) */
  respond(): Promise<{ status: string; resource?: Resource; location?: string }>;
  /** undo off-ledger side effects (an uploaded blob) when the batch fails */
  compensate?(): Promise<void>;
}

/** Repositories whose writes are ledger transactions can take part in FHIR `transaction` Bundles. */
export interface LedgerTransactional {
  prepareCreate?(ctx: RequestContext, resource: Resource): Promise<PreparedLedgerWrite>;
  prepareUpdate?(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<PreparedLedgerWrite>;
  prepareDelete?(ctx: RequestContext, id: string): Promise<PreparedLedgerWrite>;
}
