// SMART App Launch 2.2 scopes (v1 and v2 grammar). Pure TypeScript with no Node imports: the server and
// the web pages share this one parser. A scope that is unknown or malformed is dropped, never interpreted.
import { R4_RESOURCE_TYPES } from './resource-types.js';

export type ScopeContext = 'patient' | 'user' | 'system';
/** create, read, update, delete, search */
export type Interaction = 'c' | 'r' | 'u' | 'd' | 's';

export const INTERACTIONS: readonly Interaction[] = ['c', 'r', 'u', 'd', 's'];

/** `?category=<system>|<code>` (or just `<code>`): the scope covers only resources with that category. */
export interface CategoryConstraint {
  system?: string;
  code: string;
}

export interface ResourceScope {
  kind: 'resource';
  /** the scope as granted, e.g. `patient/Observation.rs?category=…|laboratory` */
  scope: string;
  context: ScopeContext;
  /** a FHIR R4 resource type, or `*` */
  resourceType: string;
  /** in `cruds` order, without repeats */
  interactions: Interaction[];
  category?: CategoryConstraint;
  syntax: 'v1' | 'v2';
}

/**
 * Scopes without a resource: OpenID Connect, launch context, refresh, and Consentry's `system/launch` (a
 * backend EHR may register EHR launch contexts; only for clients registered with it).
 */
export const SPECIAL_SCOPES = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access', 'system/launch'] as const;
export type SpecialScopeName = (typeof SPECIAL_SCOPES)[number];

export interface SpecialScope {
  kind: SpecialScopeName;
  scope: SpecialScopeName;
}

export type ParsedScope = ResourceScope | SpecialScope;

export interface AccessRequest {
  /** the resource type asked for */
  resourceType: string;
  interaction: Interaction;
  /** the category (or categories) of the resource asked for; a category-constrained scope needs a match */
  category?: string | CategoryConstraint | (string | CategoryConstraint)[];
  /** count only scopes of these contexts (default: all) */
  contexts?: ScopeContext[];
}

const RESOURCE_SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)(?:\?(.*))?$/;
const V1_ACTIONS: Record<string, Interaction[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const SPECIAL = new Set<string>(SPECIAL_SCOPES);

/** One scope token → its meaning, or undefined when it is unknown or malformed. */
export function parseScope(token: string): ParsedScope | undefined {
  if (SPECIAL.has(token)) return { kind: token as SpecialScopeName, scope: token as SpecialScopeName };
  const m = RESOURCE_SCOPE.exec(token);
  if (!m) return undefined;
  const [, context, resourceType, action, query] = m;
  if (resourceType !== '*' && !R4_RESOURCE_TYPES.has(resourceType)) return undefined;
  let interactions: Interaction[] | undefined;
  let syntax: 'v1' | 'v2';
  if (V1_ACTIONS[action]) {
    interactions = V1_ACTIONS[action];
    syntax = 'v1';
  } else {
    interactions = v2Interactions(action);
    syntax = 'v2';
  }
  if (!interactions) return undefined;
  let category: CategoryConstraint | undefined;
  if (query !== undefined) {
    // constraints are a v2 feature, and the only one this server can enforce is category
    if (syntax === 'v1') return undefined;
    category = categoryConstraint(query);
    if (!category) return undefined;
  }
  return { kind: 'resource', scope: token, context: context as ScopeContext, resourceType, interactions, ...(category ? { category } : {}), syntax };
}

/** A space-separated scope string (or a list of tokens) → the scopes understood, each once, in order. */
export function parseScopes(scopes: string | readonly string[] | undefined): ParsedScope[] {
  const tokens = typeof scopes === 'string' ? scopes.split(' ') : (scopes ?? []);
  const seen = new Set<string>();
  const out: ParsedScope[] = [];
  for (const token of tokens) {
    if (!token || seen.has(token)) continue;
    seen.add(token);
    const parsed = parseScope(token);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** The tokens of a scope string this parser understands (what a server may grant), in order. */
export function knownScopes(scopes: string | readonly string[] | undefined): string[] {
  return parseScopes(scopes).map((s) => s.scope);
}

/** Whether some resource scope allows the interaction on the type (and category, when constrained). */
export function allows(scopes: readonly ParsedScope[], request: AccessRequest): boolean {
  return scopes.some((s) => s.kind === 'resource' && resourceScopeAllows(s, request));
}

export function resourceScopeAllows(scope: ResourceScope, request: AccessRequest): boolean {
  if (request.contexts && !request.contexts.includes(scope.context)) return false;
  if (scope.resourceType !== '*' && scope.resourceType !== request.resourceType) return false;
  if (!scope.interactions.includes(request.interaction)) return false;
  if (!scope.category) return true;
  const wanted = request.category === undefined ? [] : Array.isArray(request.category) ? request.category : [request.category];
  return wanted.some((c) => categoryMatches(scope.category!, typeof c === 'string' ? { code: c } : c));
}

export function hasScope(scopes: readonly ParsedScope[], name: SpecialScopeName): boolean {
  return scopes.some((s) => s.kind === name);
}

export function resourceScopes(scopes: readonly ParsedScope[]): ResourceScope[] {
  return scopes.filter((s): s is ResourceScope => s.kind === 'resource');
}

/** A human sentence for the consent screen, e.g. "read and search your Observation records (category laboratory)". */
export function describeScope(scope: ParsedScope): string {
  switch (scope.kind) {
    case 'openid':
      return 'confirm who you are (OpenID Connect)';
    case 'fhirUser':
      return 'know your FHIR identity (Patient or Practitioner record)';
    case 'profile':
      return 'read your profile';
    case 'launch':
      return 'open in the context of the EHR launch';
    case 'launch/patient':
      return 'know which patient is in context';
    case 'launch/encounter':
      return 'know which encounter is in context';
    case 'offline_access':
      return 'keep access when you are not using it (until you revoke it)';
    case 'online_access':
      return 'keep access while you are logged in';
    case 'system/launch':
      return 'register EHR launch contexts';
    case 'resource': {
      const verbs = scope.interactions.map((i) => VERBS[i]).join(', ');
      const whose = scope.context === 'patient' ? 'the patient’s' : scope.context === 'user' ? 'your accessible' : 'any';
      const type = scope.resourceType === '*' ? 'records of every type' : `${scope.resourceType} records`;
      const category = scope.category ? ` (category ${scope.category.code})` : '';
      return `${verbs} ${whose} ${type}${category}`;
    }
  }
}

const VERBS: Record<Interaction, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

function v2Interactions(action: string): Interaction[] | undefined {
  // a non-empty subsequence of "cruds", in that order
  let at = 0;
  const out: Interaction[] = [];
  for (const ch of action) {
    const i = INTERACTIONS.indexOf(ch as Interaction, at);
    if (i < 0) return undefined;
    out.push(INTERACTIONS[i]);
    at = i + 1;
  }
  return out.length ? out : undefined;
}

function categoryConstraint(query: string): CategoryConstraint | undefined {
  const m = /^category=([^&=]+)$/.exec(query);
  if (!m) return undefined;
  let value: string;
  try {
    value = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  const bar = value.indexOf('|');
  if (bar < 0) return value ? { code: value } : undefined;
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (!code || code.includes('|')) return undefined;
  return system ? { system, code } : { code };
}

function categoryMatches(constraint: CategoryConstraint, actual: CategoryConstraint): boolean {
  // a scope naming a system matches only a category of that system
  return constraint.code === actual.code && (!constraint.system || constraint.system === actual.system);
}
