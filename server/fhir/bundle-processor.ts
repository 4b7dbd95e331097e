import type { RequestContext } from './context.js';
import { toFhirError } from './http/errors.js';
import { badRequest, FhirError, notSupported, outcome, unprocessable } from './outcome.js';
import type { RepositoryRegistry } from './registry.js';
import type { LedgerTransactional, PreparedLedgerWrite, ResourceRepository } from './repository.js';
import type { Bundle, BundleEntry, Resource } from './resource.js';
import { parseSearchRequest } from './search/request.js';
import { searchsetBundle } from './bundle.js';
import { conditionalMatch, parseEtag, rejectInvalid } from './router.js';

const MAX_ENTRIES = 100;

interface EntryRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  type: string;
  id?: string;
  vid?: string;
  query: URLSearchParams;
  resource?: Resource;
  ifMatch?: string;
  ifNoneExist?: string;
}

/** Submits the transaction's ledger writes as one chaincode call, signed by the caller. */
export type SubmitLedgerBatch = (ctx: RequestContext, ops: { fn: string; args: string[] }[]) => Promise<void>;

/**
 * `batch`: every entry on its own, each decided and answered in place. `transaction`: all or nothing — every
 * entry is decided before anything is written (a denied entry refuses the whole Bundle), its reads are answered
 * as of before its writes, and its ledger writes (Consent, DocumentReference) become one SubmitBatch, which the
 * chaincode commits or refuses whole.
 */
export async function processBundle(ctx: RequestContext, registry: RepositoryRegistry, bundle: Resource, submitBatch: SubmitLedgerBatch): Promise<Bundle> {
  if (bundle.resourceType !== 'Bundle') throw badRequest(`POST to the base expects a Bundle, got ${bundle.resourceType}`);
  const type = bundle.type;
  if (type !== 'batch' && type !== 'transaction') throw badRequest(`Bundle.type must be batch or transaction, got ${String(type)}`, ['Bundle.type']);
  const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as BundleEntry[];
  if (entries.length > MAX_ENTRIES) throw new FhirError(413, 'too-long', `a ${type} may hold at most ${MAX_ENTRIES} entries`);
  return type === 'batch' ? processBatch(ctx, registry, entries) : processTransaction(ctx, registry, entries, submitBatch);
}

async function processBatch(ctx: RequestContext, registry: RepositoryRegistry, entries: BundleEntry[]): Promise<Bundle> {
  const out: BundleEntry[] = [];
  for (const [i, entry] of entries.entries()) {
    try {
      out.push(await runEntry(ctx, registry, parseEntry(entry, i)));
    } catch (err) {
      const e = toFhirError(err);
      out.push({ response: { status: String(e.status), outcome: outcome(e.issues) as unknown as Resource } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}

async function processTransaction(ctx: RequestContext, registry: RepositoryRegistry, entries: BundleEntry[], submitBatch: SubmitLedgerBatch): Promise<Bundle> {
  const parsed = entries.map(parseEntry);
  const prepared: (PreparedLedgerWrite | undefined)[] = [];
  /** conditional creates whose If-None-Exist matched: answered with the existing resource, nothing written */
  const matched = new Map<number, Resource>();
  /** reads, answered before anything is written: a read the caller may not make refuses the whole transaction */
  const reads = new Map<number, BundleEntry>();
  try {
    for (const [i, req] of parsed.entries()) {
      if (req.method === 'GET') {
        reads.set(i, await runEntry(ctx, registry, req));
        prepared.push(undefined);
        continue;
      }
      const repo = registry.get(req.type) as ResourceRepository & LedgerTransactional;
      const where = `Bundle.entry[${i}]`;
      const existing = req.method === 'POST' && req.ifNoneExist !== undefined ? await conditionalMatch(repo, ctx, req.ifNoneExist) : undefined;
      if (existing) {
        matched.set(i, existing);
        prepared.push(undefined);
      } else if (req.method === 'POST' && repo.prepareCreate) prepared.push(await repo.prepareCreate(ctx, checkType(ctx, req, where)));
      else if (req.method === 'PUT' && repo.prepareUpdate) prepared.push(await repo.prepareUpdate(ctx, req.id!, checkType(ctx, req, where), { ifMatch: req.ifMatch }));
      else if (req.method === 'DELETE' && repo.prepareDelete) prepared.push(await repo.prepareDelete(ctx, req.id!));
      else throw unprocessable(`${where}: ${req.method} ${req.type} cannot take part in a transaction (only ledger-backed writes are atomic: Consent and DocumentReference); send it in a batch`, [`${where}.request`]);
    }
    const ops = prepared.filter((p): p is PreparedLedgerWrite => p !== undefined).map((p) => p.op);
    if (ops.length) await submitBatch(ctx, ops);
  } catch (err) {
    await Promise.all(prepared.map((p) => p?.compensate?.().catch(() => undefined)));
    throw err;
  }
  const out: BundleEntry[] = [];
  for (const i of parsed.keys()) {
    const p = prepared[i];
    const existing = matched.get(i);
    if (existing) {
      out.push(entryOf(ctx, '200', existing));
      continue;
    }
    if (!p) {
      out.push(reads.get(i)!);
      continue;
    }
    const answer = await p.respond();
    out.push({
      ...(answer.resource ? { fullUrl: `${ctx.baseUrl}/${answer.resource.resourceType}/${answer.resource.id}`, resource: answer.resource } : {}),
      response: { status: answer.status, ...(answer.location ? { location: answer.location } : {}), ...(answer.resource?.meta?.versionId ? { etag: `W/"${answer.resource.meta.versionId}"` } : {}) },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction-response', entry: out };
}

function checkType(ctx: RequestContext, req: EntryRequest, where: string): Resource {
  if (!req.resource) throw badRequest(`${where}: ${req.method} needs a resource`, [`${where}.resource`]);
  if (req.resource.resourceType !== req.type) throw badRequest(`${where}: the resource is a ${req.resource.resourceType}, the URL names ${req.type}`, [`${where}.resource`]);
  if (req.method === 'PUT' && req.resource.id !== req.id) throw badRequest(`${where}: the resource id does not match the URL`, [`${where}.resource.id`]);
  rejectInvalid(req.type, req.resource, ctx);
  const { meta: _meta, ...rest } = req.resource;
  return rest as Resource;
}

function parseEntry(entry: BundleEntry, i: number): EntryRequest {
  const where = `Bundle.entry[${i}]`;
  const request = entry?.request;
  if (!request || typeof request.url !== 'string' || typeof request.method !== 'string') throw badRequest(`${where}.request needs a method and url`, [`${where}.request`]);
  const method = request.method.toUpperCase();
  if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method)) throw notSupported(`${where}: method ${request.method} is not supported`);
  const [path, qs] = request.url.replace(/^\//, '').split('?', 2);
  const parts = path.split('/');
  if (!/^[A-Z][A-Za-z]+$/.test(parts[0] ?? '')) throw badRequest(`${where}.request.url "${request.url}" names no resource type`, [`${where}.request.url`]);
  const id = parts[1];
  if (id !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw badRequest(`${where}: "${id}" is not a valid id`, [`${where}.request.url`]);
  if ((method === 'PUT' || method === 'DELETE') && !id) throw badRequest(`${where}: ${method} needs an id in the url`, [`${where}.request.url`]);
  return {
    method: method as EntryRequest['method'],
    type: parts[0],
    id,
    vid: parts[2] === '_history' ? parts[3] : undefined,
    query: new URLSearchParams(qs ?? ''),
    resource: entry.resource,
    ifMatch: request.ifMatch ? parseEtag(request.ifMatch) : undefined,
    ifNoneExist: request.ifNoneExist,
  };
}

function entryOf(ctx: RequestContext, status: string, resource?: Resource, location?: string): BundleEntry {
  return {
    ...(resource ? { fullUrl: `${ctx.baseUrl}/${resource.resourceType}/${resource.id}`, resource } : {}),
    response: { status, ...(location ? { location } : {}), ...(resource?.meta?.versionId ? { etag: `W/"${resource.meta.versionId}"` } : {}) },
  };
}

async function runEntry(ctx: RequestContext, registry: RepositoryRegistry, req: EntryRequest): Promise<BundleEntry> {
  const repo = registry.get(req.type);
  const ok = (status: string, resource?: Resource, location?: string) => entryOf(ctx, status, resource, location);
  switch (req.method) {
    case 'GET': {
      if (req.id && req.vid) {
        if (!repo.vread) throw notSupported(`vread is not supported on ${req.type}`);
        return ok('200', await repo.vread(ctx, req.id, req.vid));
      }
      if (req.id) return ok('200', await repo.read(ctx, req.id));
      if (!repo.search) throw notSupported(`search is not supported on ${req.type}`);
      const { request } = parseSearchRequest(req.query, repo.searchParams, ctx.strict, repo.sortParams ?? []);
      const result = await repo.search(ctx, request);
      return ok('200', searchsetBundle({ baseUrl: ctx.baseUrl, path: req.type, query: req.query, request, matches: result.resources, included: [], total: result.total }));
    }
    case 'POST': {
      if (!repo.create) throw notSupported(`create is not supported on ${req.type}`);
      const existing = req.ifNoneExist !== undefined ? await conditionalMatch(repo, ctx, req.ifNoneExist) : undefined;
      if (existing) return ok('200', existing);
      const created = await repo.create(ctx, checkType(ctx, req, 'entry'));
      return ok('201', created, `${req.type}/${created.id}/_history/${created.meta?.versionId}`);
    }
    case 'PUT': {
      if (!repo.update) throw notSupported(`update is not supported on ${req.type}`);
      const { resource, created } = await repo.update(ctx, req.id!, checkType(ctx, req, 'entry'), { ifMatch: req.ifMatch });
      return ok(created ? '201' : '200', resource);
    }
    case 'DELETE': {
      if (!repo.delete) throw notSupported(`delete is not supported on ${req.type}`);
      await repo.delete(ctx, req.id!);
      return ok('200');
    }
  }
}
