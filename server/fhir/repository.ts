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
  read(ctx: RequestContext, id: string): Promise<Resource>;
  vread?(ctx: RequestContext, id: string, versionId: string): Promise<Resource>;
  search?(ctx: RequestContext, request: SearchRequest): Promise<SearchResult>;
  create?(ctx: RequestContext, resource: Resource): Promise<Resource>;
  update?(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }>;
  delete?(ctx: RequestContext, id: string): Promise<void>;
  history?(ctx: RequestContext, id: string): Promise<Resource[]>;
}
