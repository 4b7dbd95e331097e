import type { Response } from 'express';
import type { RequestContext } from '../context.js';
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
  if (r.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(r.meta.lastUpdated).toUTCString());
  if (opts.location) res.setHeader('Location', opts.location);
  if (ctx?.ledgerHeight !== undefined) res.setHeader('X-Ledger-Height', String(ctx.ledgerHeight));
  const prefer = opts.prefer ?? 'representation';
  if (prefer === 'minimal' && (status === 200 || status === 201)) {
    res.status(status).end();
    return;
  }
  const body = prefer === 'OperationOutcome' && r.resourceType !== 'OperationOutcome' ? outcome([{ severity: 'information', code: 'informational', diagnostics: `${r.resourceType}/${r.id ?? ''} ${status === 201 ? 'created' : 'ok'}` }]) : resource;
  res.status(status).type(FHIR_JSON).send(opts.pretty ? JSON.stringify(body, null, 2) : bodyJson(body));
}

// The JSON of resources served inside Bundles, by object: a repository's cached read hands the same (never
// mutated) resource objects to every request until the data changes, so a search page re-serializes only its
// envelope. Keyed weakly: an entry lives as long as the resource object does.
const resourceJson = new WeakMap<object, string>();

function jsonOfResource(resource: object): string {
  let json = resourceJson.get(resource);
  if (json === undefined) resourceJson.set(resource, (json = JSON.stringify(resource)));
  return json;
}

/** JSON.stringify(body), byte for byte, with the resources of a Bundle's entries serialized once per object. */
export function bodyJson(body: object): string {
  const b = body as { resourceType?: string; entry?: unknown };
  const keys = Object.keys(b);
  if (b.resourceType !== 'Bundle' || !Array.isArray(b.entry) || b.entry.length === 0 || keys[keys.length - 1] !== 'entry') return JSON.stringify(body);
  const { entry, ...envelope } = b as { entry: Record<string, unknown>[] };
  const entries = entry.map((e) => {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(e)) {
      if (value === undefined || typeof value === 'function') continue;
      parts.push(`${JSON.stringify(key)}:${key === 'resource' && value !== null && typeof value === 'object' ? jsonOfResource(value) : JSON.stringify(value)}`);
    }
    return `{${parts.join(',')}}`;
  });
  const head = JSON.stringify(envelope);
  return `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"entry":[${entries.join(',')}]}`;
}
