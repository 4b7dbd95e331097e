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
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body, null, opts.pretty ? 2 : undefined));
}
