import type { Response } from 'express';
import type { RequestContext } from '../context.js';
import { SEARCH_INCLUDE, SEARCH_MATCH } from '../bundle.js';
import { outcome, type OperationOutcome } from '../outcome.js';
import type { Resource } from '../resource.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function returnPreference(prefer: string | undefined): ReturnPreference {
  const m = /return=(minimal|representation|OperationOutcome)/.exec(prefer ?? '');
  return (m?.[1] as ReturnPreference) ?? 'representation';
}

export function etagOf(resource: Resource): string | undefined {
  return resource.meta?.versionId ? `W/"${resource.meta.versionId}"` : undefined;
}

/** Writes a resource with the headers FHIR clients rely on (ETag, Last-Modified, Location, X-Ledger-Height). */
export function sendResource(
  res: Response,
  ctx: RequestContext | undefined,
  status: number,
  resource: Resource | OperationOutcome,
  opts: { location?: string; prefer?: ReturnPreference; pretty?: boolean } = {},
): void {
  const r = resource as Resource;
  const etag = etagOf(r);
  if (etag) res.setHeader('ETag', etag);
  if (r.meta?.lastUpdated) res.setHeader('Last-Modified', httpDate(r.meta.lastUpdated));
  if (opts.location) res.setHeader('Location', opts.location);
  if (ctx?.ledgerHeight !== undefined) res.setHeader('X-Ledger-Height', String(ctx.ledgerHeight));
  const prefer = opts.prefer ?? 'representation';
  if (prefer === 'minimal' && (status === 200 || status === 201)) {
    res.status(status).end();
    return;
  }
  const body = prefer === 'OperationOutcome' && r.resourceType !== 'OperationOutcome' ? outcome([{ severity: 'information', code: 'informational', diagnostics: `${r.resourceType}/${r.id ?? ''} ${status === 201 ? 'created' : 'ok'}` }]) : resource;
  if (opts.pretty) {
    res.status(status).type(FHIR_JSON).send(JSON.stringify(body, null, 2));
    return;
  }
  sendJsonBytes(res, status, bodyBytes(body));
}

// Last-Modified of the lastUpdated instants seen lately (reads of the same resources repeat them)
const httpDates = new Map<string, string>();

function httpDate(instant: string): string {
  let date = httpDates.get(instant);
  if (date === undefined) {
    date = new Date(instant).toUTCString();
    if (httpDates.size >= 1000) httpDates.clear();
    httpDates.set(instant, date);
  }
  return date;
}

/**
 * `res.status(status).type(FHIR_JSON).send(bytes)` without express's per-response work (re-parsing the
 * Content-Type it was given, ETag and freshness checks) where none of it can change the answer: no
 * conditional request headers, no HEAD, no ETag generation, a status that has a body. Everything else goes
 * through express.
 */
function sendJsonBytes(res: Response, status: number, bytes: Buffer): void {
  const req = res.req;
  const headers = req.headers;
  if (
    req.method === 'HEAD' ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    status === 204 ||
    status === 205 ||
    status === 304 ||
    typeof res.app.get('etag fn') === 'function'
  ) {
    res.status(status).type(FHIR_JSON).send(bytes);
    return;
  }
  res.statusCode = status;
  res.setHeader('Content-Type', FHIR_JSON);
  res.setHeader('Content-Length', String(bytes.length));
  res.end(bytes);
}

// The JSON of resources served, by object: a repository's cached read hands the same (never mutated)
// resource objects to every request until the data changes, so a read re-serializes nothing and a search page
// only its envelope. Keyed weakly: an entry lives as long as the resource object does. Kept as bytes outside
// the heap (allocUnsafeSlow: a pooled slice would pin its whole pool slab for as long).
const resourceBytes = new WeakMap<object, Buffer>();

function bytesOfResource(resource: object): Buffer {
  let bytes = resourceBytes.get(resource);
  if (bytes === undefined) {
    const json = JSON.stringify(resource);
    bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
    bytes.write(json);
    resourceBytes.set(resource, bytes);
  }
  return bytes;
}

// The JSON of a searchset entry as searchsetBundle makes it (fullUrl, resource, one of the shared search
// modes), by resource: a page of remembered resources is then a copy of remembered entries.
const entryBytes = new WeakMap<object, { fullUrl: string; search: object; bytes: Buffer }>();
const SHARED_MODES: ReadonlySet<object> = new Set([SEARCH_MATCH, SEARCH_INCLUDE]);

function bytesOfEntry(e: Record<string, unknown>): Buffer | undefined {
  const { fullUrl, resource, search } = e;
  if (typeof fullUrl !== 'string' || resource === null || typeof resource !== 'object' || !SHARED_MODES.has(search as object)) return undefined;
  let keys = 0;
  for (const key in e) {
    if (!Object.hasOwn(e, key)) continue;
    if (key !== (keys === 0 ? 'fullUrl' : keys === 1 ? 'resource' : 'search')) return undefined;
    keys++;
  }
  if (keys !== 3) return undefined;
  const known = entryBytes.get(resource);
  if (known !== undefined && known.fullUrl === fullUrl && known.search === search) return known.bytes;
  const head = `{"fullUrl":${JSON.stringify(fullUrl)},"resource":`;
  const tail = `,"search":${JSON.stringify(search)}}`;
  const json = bytesOfResource(resource);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(head) + json.length + Buffer.byteLength(tail));
  json.copy(bytes, bytes.write(head));
  bytes.write(tail, bytes.length - Buffer.byteLength(tail));
  entryBytes.set(resource, { fullUrl, search: search as object, bytes });
  return bytes;
}

/** The UTF-8 bytes of JSON.stringify(body); a resource's own JSON (or an entry's) is made once per object. */
export function bodyBytes(body: object): Buffer {
  const b = body as { resourceType?: string; entry?: unknown };
  if (typeof b.resourceType !== 'string' || b.resourceType === 'OperationOutcome') return Buffer.from(JSON.stringify(body));
  if (b.resourceType !== 'Bundle') return bytesOfResource(body);
  const keys = Object.keys(b);
  if (!Array.isArray(b.entry) || b.entry.length === 0 || keys[keys.length - 1] !== 'entry') return Buffer.from(JSON.stringify(body));
  const { entry, ...envelope } = b as { entry: Record<string, unknown>[] };
  const head = JSON.stringify(envelope);
  // the body as text between the (shared) bytes of the entries or their resources
  const parts: (string | Buffer)[] = [];
  let text = `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"entry":[`;
  for (let i = 0; i < entry.length; i++) {
    const e = entry[i];
    if (i > 0) text += ',';
    const whole = bytesOfEntry(e);
    if (whole !== undefined) {
      parts.push(text, whole);
      text = '';
      continue;
    }
    text += '{';
    let first = true;
    for (const key of Object.keys(e)) {
      const value = e[key];
      if (value === undefined || typeof value === 'function') continue;
      text += `${first ? '' : ','}${JSON.stringify(key)}:`;
      first = false;
      if (key === 'resource' && value !== null && typeof value === 'object') {
        parts.push(text, bytesOfResource(value));
        text = '';
      } else {
        text += JSON.stringify(value);
      }
    }
    text += '}';
  }
  parts.push(`${text}]}`);
  let size = 0;
  for (const part of parts) size += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) at += typeof part === 'string' ? out.write(part, at) : part.copy(out, at);
  return out;
}
