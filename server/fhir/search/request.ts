import { badRequest, FhirError } from '../outcome.js';
import type { SearchParamDef } from '../repository.js';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface SearchParam {
  name: string;
  modifier?: string;
  /** comma-separated alternatives (OR); repeated parameters are separate entries (AND) */
  values: string[];
}

export interface SearchRequest {
  params: SearchParam[];
  count: number;
  offset: number;
  sort: { name: string; descending: boolean }[];
  include: string[];
  revinclude: string[];
  /** `_total=none` */
  totalNone: boolean;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 200;
// _summary and _elements are not implemented: like unknown parameters they are ignored with a warning, or
// refused under handling=strict, rather than silently answered with full resources
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_include', '_revinclude', '_total', '_format', '_pretty']);

/**
 * Parses a search query. Unknown parameters are ignored (and reported by the caller) unless the client
 * asked for `Prefer: handling=strict`, when they are a 400.
 */
export function parseSearchRequest(query: URLSearchParams, known: readonly SearchParamDef[], strict: boolean, sortable: readonly string[]): { request: SearchRequest; ignored: string[] } {
  const byName = definitionsByName(known);
  const params: SearchParam[] = [];
  const ignored: string[] = [];
  const request: SearchRequest = { params, count: DEFAULT_COUNT, offset: 0, sort: [], include: [], revinclude: [], totalNone: false };
  for (const [rawName, value] of query) {
    const [name, modifier] = rawName.split(':', 2);
    if (RESULT_PARAMS.has(name)) {
      applyResultParam(request, name, value, sortable);
      continue;
    }
    const def = byName.get(name);
    if (!def) {
      if (strict) throw badRequest(`unknown search parameter "${rawName}"`);
      ignored.push(rawName);
      continue;
    }
    if (modifier && !['missing', 'exact', 'contains', 'not'].includes(modifier)) {
      if (strict) throw badRequest(`unsupported modifier "${rawName}"`);
      ignored.push(rawName);
      continue;
    }
    params.push({ name, modifier, values: value.split(',').filter((v) => v !== '') });
  }
  return { request, ignored };
}

// A repository's parameter definitions are one array for its lifetime; a definitions array is not changed
// once searched with (a changed copy is a new array, and gets its own entry).
const byNameOf = new WeakMap<readonly SearchParamDef[], { size: number; byName: Map<string, SearchParamDef> }>();

function definitionsByName(known: readonly SearchParamDef[]): Map<string, SearchParamDef> {
  const memo = byNameOf.get(known);
  if (memo !== undefined && memo.size === known.length) return memo.byName;
  const byName = new Map(known.map((p) => [p.name, p]));
  byNameOf.set(known, { size: known.length, byName });
  return byName;
}

function applyResultParam(request: SearchRequest, name: string, value: string, sortable: readonly string[]) {
  switch (name) {
    case '_count': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`_count must be a non-negative integer, got "${value}"`);
      request.count = Math.min(n, MAX_COUNT);
      break;
    }
    case '_offset': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`_offset must be a non-negative integer, got "${value}"`);
      request.offset = n;
      break;
    }
    case '_sort':
      for (const part of value.split(',').filter(Boolean)) {
        const descending = part.startsWith('-');
        const key = descending ? part.slice(1) : part;
        if (key !== '_lastUpdated' && !sortable.includes(key)) throw new FhirError(400, 'not-supported', `cannot sort by "${key}"`);
        request.sort.push({ name: key, descending });
      }
      break;
    case '_include':
      request.include.push(value);
      break;
    case '_revinclude':
      request.revinclude.push(value);
      break;
    case '_total':
      request.totalNone = value === 'none';
      break;
    default:
      break; // _format, _pretty: handled by the response writer
  }
}

const DATE_RE = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?)$/;

/** A date search value as the half-open instant range it denotes at its precision. */
export function parseDateParam(value: string, param: string): { prefix: Prefix; start: Date; end: Date } {
  const m = DATE_RE.exec(value);
  if (!m) throw badRequest(`invalid date "${value}" for ${param}`);
  const prefix = (m[1] ?? 'eq') as Prefix;
  const text = m[2];
  const [datePart] = text.split('T');
  const [y, mo, d] = datePart.split('-').map(Number);
  let start: Date;
  let end: Date;
  if (text.includes('T')) {
    const hasZone = /Z|[+-]\d{2}:\d{2}$/.test(text);
    start = new Date(hasZone ? text : `${text}Z`);
    const seconds = /T\d{2}:\d{2}:\d{2}/.test(text);
    end = new Date(start.getTime() + (seconds ? 1000 : 60_000));
  } else if (d !== undefined) {
    start = new Date(Date.UTC(y, mo - 1, d));
    end = new Date(Date.UTC(y, mo - 1, d + 1));
  } else if (mo !== undefined) {
    start = new Date(Date.UTC(y, mo - 1, 1));
    end = new Date(Date.UTC(y, mo, 1));
  } else {
    start = new Date(Date.UTC(y, 0, 1));
    end = new Date(Date.UTC(y + 1, 0, 1));
  }
  if (Number.isNaN(start.getTime()) || (mo !== undefined && (mo < 1 || mo > 12)) || (d !== undefined && start.getUTCDate() !== d)) {
    throw badRequest(`invalid date "${value}" for ${param}`);
  }
  return { prefix, start, end };
}

/** Does the range [from, to) of a resource's value satisfy a date search value? (FHIR R4 3.1.1.4.2) */
export function dateMatches(value: { prefix: Prefix; start: Date; end: Date }, from: Date, to: Date): boolean {
  const s = value.start.getTime();
  const e = value.end.getTime();
  const f = from.getTime();
  const t = to.getTime();
  switch (value.prefix) {
    case 'eq':
      return f >= s && t <= e;
    case 'ne':
      return !(f >= s && t <= e);
    case 'gt':
      return t > e;
    case 'lt':
      return f < s;
    case 'ge':
      return t > s;
    case 'le':
      return f < e;
    case 'sa':
      return f >= e;
    case 'eb':
      return t <= s;
    case 'ap': {
      const slack = Math.max(86_400_000, Math.abs(Date.now() - s) * 0.1);
      return f < e + slack && t > s - slack;
    }
  }
}
