import type { RequestContext } from './context.js';
import { badRequest, FhirError } from './outcome.js';
import type { RepositoryRegistry } from './registry.js';
import type { Resource } from './resource.js';
import { parseSearchRequest } from './search/request.js';

/** `_include` targets: source type, search parameter, the element holding the reference. */
const INCLUDES: Record<string, (r: Resource) => string | undefined> = {
  'DocumentReference:subject': (r) => (r.subject as { reference?: string } | undefined)?.reference,
  'DocumentReference:patient': (r) => (r.subject as { reference?: string } | undefined)?.reference,
  'Consent:patient': (r) => (r.patient as { reference?: string } | undefined)?.reference,
};

/** `_revinclude` sources: resources of `type` whose `param` points at a match of type `target`. */
const REVINCLUDES: Record<string, { type: string; param: string; target: string }> = {
  'DocumentReference:subject': { type: 'DocumentReference', param: 'subject', target: 'Patient' },
  'DocumentReference:patient': { type: 'DocumentReference', param: 'patient', target: 'Patient' },
  'Consent:patient': { type: 'Consent', param: 'patient', target: 'Patient' },
};

/**
 * Resolves `_include`/`_revinclude` through the target repositories, so an included resource is subject
 * to exactly the same access policy as a direct read: what the caller may not read (the ledger denies it,
 * or the token's scopes do not cover its type) is silently absent.
 */
export async function resolveIncludes(ctx: RequestContext, registry: RepositoryRegistry, matchType: string, matches: Resource[], include: string[], revinclude: string[]): Promise<Resource[]> {
  if (include.length === 0 && revinclude.length === 0) return [];
  const out = new Map<string, Resource>();
  for (const spec of include) {
    const [source, param] = spec.split(':');
    const pick = INCLUDES[`${source}:${param}`];
    if (source !== matchType) continue;
    if (!pick) throw badRequest(`_include=${spec} is not supported`);
    for (const m of matches) {
      const ref = pick(m);
      const [type, id] = (ref ?? '').split('/');
      if (!type || !id || !registry.has(type) || out.has(`${type}/${id}`)) continue;
      try {
        out.set(`${type}/${id}`, await registry.get(type).read(ctx, id));
      } catch (err) {
        if (!absent(err)) throw err;
      }
    }
  }
  for (const spec of revinclude) {
    const target = REVINCLUDES[spec.split(':').slice(0, 2).join(':')];
    if (!target || target.target !== matchType) throw badRequest(`_revinclude=${spec} is not supported on ${matchType}`);
    const repo = registry.get(target.type);
    if (!repo.search) continue;
    for (const m of matches) {
      const query = new URLSearchParams({ [target.param]: `${m.resourceType}/${m.id}`, _count: '200' });
      const { request } = parseSearchRequest(query, repo.searchParams, false, repo.sortParams ?? []);
      let found;
      try {
        found = await repo.search(ctx, request);
      } catch (err) {
        if (absent(err)) break;
        throw err;
      }
      for (const r of found.resources) out.set(`${r.resourceType}/${r.id}`, r);
    }
  }
  for (const m of matches) out.delete(`${m.resourceType}/${m.id}`);
  return [...out.values()];
}

/** Not found, or outside the token's scopes: either way left out of the Bundle without a trace. */
function absent(err: unknown): boolean {
  return err instanceof FhirError && (err.status === 404 || err.status === 403);
}
