import type { Request } from 'express';
import { parseFhirJson } from '../validation/index.js';
import { FhirError } from '../outcome.js';
import type { Resource } from '../resource.js';

export const MAX_JSON_BYTES = 10 * 1024 * 1024;

/** Reads a FHIR JSON request body with size and depth limits; anything else is a 4xx. */
export async function readResourceBody(req: Request): Promise<Resource> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type && !['application/fhir+json', 'application/json', 'application/json+fhir'].includes(type)) {
    throw new FhirError(415, 'not-supported', `expected application/fhir+json, got ${type}`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_JSON_BYTES) throw new FhirError(413, 'too-long', `request body of ${declared} bytes exceeds the ${MAX_JSON_BYTES}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) {
      req.resume();
      throw new FhirError(413, 'too-long', `request body exceeds the ${MAX_JSON_BYTES}-byte limit`);
    }
    chunks.push(chunk);
  }
  if (size === 0) throw new FhirError(400, 'structure', 'the request has no body');
  const value = parseFhirJson(Buffer.concat(chunks), { maxBytes: MAX_JSON_BYTES });
  if (!value || typeof value !== 'object' || Array.isArray(value) || typeof (value as Resource).resourceType !== 'string') {
    throw new FhirError(400, 'structure', 'the body is not a FHIR resource (no resourceType)');
  }
  return value as Resource;
}
