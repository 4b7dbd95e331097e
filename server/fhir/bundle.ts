import type { Bundle, BundleEntry, Resource } from './resource.js';
import type { SearchRequest } from './search/request.js';

/** The search modes of entries, shared (and so never changed): a response writer may remember their JSON. */
export const SEARCH_MATCH: Readonly<{ mode: 'match' }> = Object.freeze({ mode: 'match' });
export const SEARCH_INCLUDE: Readonly<{ mode: 'include' }> = Object.freeze({ mode: 'include' });

export function fullUrl(baseUrl: string, r: Resource): string {
  return `${baseUrl}/${r.resourceType}/${r.id}`;
}

/** A searchset page with self/next/previous links that re-run the query (every page is re-checked). */
export function searchsetBundle(opts: {
  baseUrl: string;
  path: string;
  query: URLSearchParams;
  request: SearchRequest;
  matches: Resource[];
  included: Resource[];
  total: number;
  outcome?: Resource;
}): Bundle {
  const { request } = opts;
  const link = (offset: number) => {
    const q = new URLSearchParams(opts.query);
    q.set('_count', String(request.count));
    q.set('_offset', String(offset));
    return `${opts.baseUrl}/${opts.path}?${q.toString()}`;
  };
  const links: Bundle['link'] = [{ relation: 'self', url: link(request.offset) }];
  // _count=0 asks for the total alone: a next link would point at the same empty page forever.
  // Under _total=none the repositories count only the page, so a full page is what signals more.
  const more = request.totalNone ? opts.matches.length === request.count : request.offset + request.count < opts.total;
  if (request.count > 0 && more) links.push({ relation: 'next', url: link(request.offset + request.count) });
  if (request.offset > 0 && request.count > 0) links.push({ relation: 'previous', url: link(Math.max(0, request.offset - request.count)) });
  const entry: BundleEntry[] = [];
  for (const r of opts.matches) entry.push({ fullUrl: fullUrl(opts.baseUrl, r), resource: r, search: SEARCH_MATCH });
  for (const r of opts.included) entry.push({ fullUrl: fullUrl(opts.baseUrl, r), resource: r, search: SEARCH_INCLUDE });
  if (opts.outcome) entry.push({ resource: opts.outcome, search: { mode: 'outcome' } });
  return { resourceType: 'Bundle', type: 'searchset', ...(request.totalNone ? {} : { total: opts.total }), link: links, entry };
}

export function historyBundle(baseUrl: string, versions: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((r) => ({
      fullUrl: fullUrl(baseUrl, r),
      resource: r,
      request: { method: r.meta?.versionId === '1' ? 'POST' : 'PUT', url: `${r.resourceType}/${r.id}` },
      response: { status: '200', etag: `W/"${r.meta?.versionId}"`, lastModified: r.meta?.lastUpdated },
    })),
  };
}
