/** A FHIR resource as plain JSON; shapes are checked by the validator, not by the type system. */
export interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; source?: string; profile?: string[]; [k: string]: unknown };
  [key: string]: unknown;
}

export interface Bundle extends Resource {
  resourceType: 'Bundle';
  type: 'searchset' | 'history' | 'batch-response' | 'transaction-response' | 'batch' | 'transaction';
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: BundleEntry[];
}

export interface BundleEntry {
  fullUrl?: string;
  resource?: Resource;
  search?: { mode: 'match' | 'include' | 'outcome' };
  request?: { method: string; url: string; ifNoneExist?: string; ifMatch?: string };
  response?: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: Resource };
}
