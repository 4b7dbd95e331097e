import express, { type NextFunction, type Request, type Response } from 'express';
import { searchsetBundle, historyBundle } from './bundle.js';
import type { RequestContext } from './context.js';
import { readResourceBody } from './http/body.js';
import { etagOf, returnPreference, sendResource } from './http/respond.js';
import { resolveIncludes } from './includes.js';
import { badRequest, FhirError, informational, notSupported, outcome, preconditionFailed } from './outcome.js';
import type { RepositoryRegistry } from './registry.js';
import type { ResourceRepository } from './repository.js';
import type { Resource } from './resource.js';
import { parseSearchRequest } from './search/request.js';
import { validateForInteraction } from './validate.js';
import { processBundle, type SubmitLedgerBatch } from './bundle-processor.js';

type Handler = (req: Request, res: Response, ctx: RequestContext) => Promise<void>;

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/;

export function ctxOf(req: Request): RequestContext {
  const ctx = (req as Request & { fhir?: RequestContext }).fhir;
  if (!ctx) throw new FhirError(500, 'exception', 'request context missing');
  return ctx;
}

function wrap(handler: Handler) {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res, ctxOf(req)).catch(next);
  };
}

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw badRequest(`"${id}" is not a valid FHIR id`);
  return id;
}

function queryOf(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '');
}

/** The FHIR REST interactions over the registered repositories. */
export function fhirRouter(registry: RepositoryRegistry, opts: { submitBatch: SubmitLedgerBatch }): express.Router {
  const router = express.Router();

  router.post('/', wrap(async (req, res, ctx) => {
    const bundle = await readResourceBody(req);
    sendResource(res, ctx, 200, await processBundle(ctx, registry, bundle, opts.submitBatch));
  }));
  const repoOf = (req: Request) => {
    const type = req.params.type as string;
    if (!TYPE_RE.test(type)) throw badRequest(`"${type}" is not a resource type`);
    return registry.get(type);
  };

  const search: Handler = async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.search) throw notSupported(`search is not supported on ${repo.resourceType}`);
    const query = queryOf(req);
    if (req.method === 'POST' && req.is('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(await readText(req))) query.append(k, v);
    }
    const { request, ignored } = parseSearchRequest(query, repo.searchParams, ctx.strict, repo.sortParams ?? []);
    const result = await repo.search(ctx, request);
    const included = request.include.length || request.revinclude.length ? await resolveIncludes(ctx, registry, repo.resourceType, result.resources, request.include, request.revinclude) : [];
    for (const name of ignored) query.delete(name);
    const bundle = searchsetBundle({
      baseUrl: ctx.baseUrl,
      path: repo.resourceType,
      query,
      request,
      matches: result.resources,
      included,
      total: result.total,
      outcome: ignored.length ? (outcome([{ severity: 'warning', code: 'not-supported', diagnostics: `ignored unknown search parameters: ${ignored.join(', ')}` }]) as unknown as Resource) : undefined,
    });
    sendResource(res, ctx, 200, bundle);
  };

  router.get('/:type', wrap(search));
  router.post('/:type/_search', wrap(search));

  router.post('/:type/\\$validate', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    const body = await readResourceBody(req);
    const resource = body.resourceType === 'Parameters' ? extractParameterResource(body) : body;
    const issues = validateForInteraction(repo.resourceType, resource, ctx);
    sendResource(res, ctx, 200, outcome(issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: 'the resource is valid' }]));
  }));
  router.post('/:type/:id/\\$validate', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    checkId(req.params.id as string);
    const body = await readResourceBody(req);
    const resource = body.resourceType === 'Parameters' ? extractParameterResource(body) : body;
    const issues = validateForInteraction(repo.resourceType, resource, ctx);
    sendResource(res, ctx, 200, outcome(issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: 'the resource is valid' }]));
  }));

  router.get('/:type/:id', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    const resource = await repo.read(ctx, checkId(req.params.id as string));
    sendResource(res, ctx, 200, resource, { pretty: req.originalUrl.includes('?') && queryOf(req).get('_pretty') === 'true' });
  }));

  router.get('/:type/:id/_history/:vid', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.vread) throw notSupported(`vread is not supported on ${repo.resourceType}`);
    sendResource(res, ctx, 200, await repo.vread(ctx, checkId(req.params.id as string), req.params.vid as string));
  }));

  router.get('/:type/:id/_history', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.history) throw notSupported(`history is not supported on ${repo.resourceType}`);
    sendResource(res, ctx, 200, historyBundle(ctx.baseUrl, await repo.history(ctx, checkId(req.params.id as string))));
  }));

  router.post('/:type', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.create) throw notSupported(`create is not supported on ${repo.resourceType}`);
    const body = await readResourceBody(req);
    if (body.resourceType !== repo.resourceType) throw badRequest(`the body is a ${body.resourceType}, the URL names ${repo.resourceType}`, ['resourceType']);
    const ifNoneExist = req.headers['if-none-exist'];
    const existing = typeof ifNoneExist === 'string' ? await conditionalMatch(repo, ctx, ifNoneExist) : undefined;
    if (existing) {
      sendResource(res, ctx, 200, existing, { prefer: returnPreference(headerOf(req, 'prefer')) });
      return;
    }
    rejectInvalid(repo.resourceType, body, ctx);
    const created = await repo.create(ctx, stripServerFields(body));
    sendResource(res, ctx, 201, created, {
      location: `${ctx.baseUrl}/${created.resourceType}/${created.id}/_history/${created.meta?.versionId}`,
      prefer: returnPreference(headerOf(req, 'prefer')),
    });
  }));

  router.put('/:type/:id', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.update) throw notSupported(`update is not supported on ${repo.resourceType}`);
    const id = checkId(req.params.id as string);
    const body = await readResourceBody(req);
    if (body.resourceType !== repo.resourceType) throw badRequest(`the body is a ${body.resourceType}, the URL names ${repo.resourceType}`, ['resourceType']);
    if (body.id !== id) throw badRequest(`the body's id "${body.id ?? ''}" does not match the URL's "${id}"`, ['id']);
    rejectInvalid(repo.resourceType, body, ctx);
    const ifMatch = req.headers['if-match'];
    const { resource, created } = await repo.update(ctx, id, stripServerFields(body), { ifMatch: typeof ifMatch === 'string' ? parseEtag(ifMatch) : undefined });
    sendResource(res, ctx, created ? 201 : 200, resource, {
      location: created ? `${ctx.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}` : undefined,
      prefer: returnPreference(headerOf(req, 'prefer')),
    });
  }));

  router.delete('/:type/:id', wrap(async (req, res, ctx) => {
    const repo = repoOf(req);
    if (!repo.delete) throw notSupported(`delete is not supported on ${repo.resourceType}`);
    const id = checkId(req.params.id as string);
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string') await requireVersion(repo, ctx, id, parseEtag(ifMatch));
    await repo.delete(ctx, id);
    sendResource(res, ctx, 200, informational(`${repo.resourceType}/${req.params.id} deleted`));
  }));

  return router;
}

/** Structural errors (unknown elements, wrong types, bad dates) are a 400; broken rules a 422. */
export function rejectInvalid(type: string, resource: Resource, ctx: RequestContext): void {
  const issues = validateForInteraction(type, resource, ctx).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (issues.length === 0) return;
  const structural = issues.some((i) => i.code === 'structure' || i.code === 'invalid' || i.code === 'value' || i.code === 'required' || i.code === 'code-invalid');
  throw new FhirError(structural ? 400 : 422, issues[0].code, issues[0].diagnostics ?? 'invalid resource', { issues });
}

/** If-Match on an interaction the repository does not version-check itself: 412 unless `id` is at `version`. */
export async function requireVersion(repo: ResourceRepository, ctx: RequestContext, id: string, version: string): Promise<void> {
  const current = await repo.read(ctx, id);
  if (current.meta?.versionId !== version) throw preconditionFailed(`${repo.resourceType}/${id} is at version ${current.meta?.versionId ?? 'none'}, not ${version}`);
}

/** If-None-Exist: the one resource matching the criteria, undefined when none does, 412 when several do. */
export async function conditionalMatch(repo: ResourceRepository, ctx: RequestContext, criteria: string): Promise<Resource | undefined> {
  if (!repo.search) return undefined;
  const { request } = parseSearchRequest(new URLSearchParams(criteria), repo.searchParams, true, []);
  const existing = await repo.search(ctx, { ...request, count: 2, offset: 0 });
  if (existing.total > 1) throw preconditionFailed(`If-None-Exist matched ${existing.total} resources`);
  return existing.resources[0];
}

export function parseEtag(value: string): string {
  const m = /^(?:W\/)?"([^"]+)"$/.exec(value.trim());
  if (!m) throw badRequest(`If-Match must be an ETag like W/"3", got ${value}`);
  return m[1];
}

/** id and meta are the server's to assign on create/update; keep profile claims. */
function stripServerFields(resource: Resource): Resource {
  const { meta, ...rest } = resource;
  return meta?.profile ? { ...rest, meta: { profile: meta.profile } } : rest;
}

function extractParameterResource(parameters: Resource): Resource {
  const param = ((parameters.parameter as { name: string; resource?: Resource }[]) ?? []).find((p) => p.name === 'resource');
  if (!param?.resource) throw badRequest('Parameters for $validate need a "resource" parameter');
  return param.resource;
}

async function readText(req: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new FhirError(413, 'too-long', 'search form body exceeds 1 MiB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export { etagOf };

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
