import { isResourceType } from '@medplum/core';
import { loadFhirDefinitions } from './definitions.js';
import { FhirInputError } from './errors.js';

export interface ParsedReference {
  type: string;
  id: string;
  /** the version of a versioned reference (Type/id/_history/vid) */
  version?: string;
}

export interface ParseReferenceOptions {
  /** the resource types this reference may point to; any R4 resource type when omitted */
  types?: readonly string[];
  /** the server's base URL: absolute references are accepted only below it */
  baseUrl?: string;
}

const RELATIVE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/**
 * Parses a literal reference ("Patient/123", "Patient/123/_history/2", or an absolute URL below
 * baseUrl). Contained (#id), conditional (Type?query), logical and foreign references are refused
 * with a FhirInputError, as are types outside `types`.
 */
export function parseReference(reference: unknown, options: ParseReferenceOptions = {}): ParsedReference {
  const ref = typeof reference === 'object' && reference !== null ? (reference as { reference?: unknown }).reference : reference;
  if (typeof ref !== 'string' || ref === '') throw broken('a reference must be a non-empty string', ref);
  let relative = ref;
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    const base = options.baseUrl?.replace(/\/+$/, '');
    if (!base || !ref.startsWith(base + '/')) throw broken('absolute references to other servers are not supported', ref);
    relative = ref.slice(base.length + 1);
  }
  const m = RELATIVE.exec(relative);
  if (!m) throw broken('a reference must look like "Type/id"', ref);
  const [, type, id, version] = m;
  if (options.types) {
    if (!options.types.includes(type)) throw broken(`a reference here must point to ${options.types.join(' or ')}`, ref);
  } else {
    loadFhirDefinitions();
    if (!isResourceType(type)) throw broken(`"${type}" is not a FHIR R4 resource type`, ref);
  }
  return version === undefined ? { type, id } : { type, id, version };
}

function broken(why: string, ref: unknown): FhirInputError {
  return new FhirInputError(`broken reference ${JSON.stringify(ref)}: ${why}`, 'invalid');
}
