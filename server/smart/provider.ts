import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { HospitalSigningKey } from '../auth/signing-key.js';
import type { Database } from '../db/database.js';
import type { ArtifactStore } from './artifacts/index.js';
import type { GrantContexts } from './grants.js';
import type { LaunchContexts } from './launch.js';
import { errorPage } from './pages/html.js';
import { parseScopes, type ParsedScope } from './scopes.js';
import { ROUTES, type SmartUrls } from './urls.js';
import { MAX_ACCESS_TOKEN_LIFETIME_S } from './verify.js';

/** Scopes oidc-provider knows by name; every other SMART scope is a resource scope of the FHIR base. */
export const STATIC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter'];

export const BACKEND_TOKEN_LIFETIME_S = 300;
const DAY = 86_400;
export const TTL = {
  AccessToken: MAX_ACCESS_TOKEN_LIFETIME_S,
  ClientCredentials: BACKEND_TOKEN_LIFETIME_S,
  AuthorizationCode: 60,
  IdToken: 3600,
  RefreshToken: 90 * DAY,
  Grant: 365 * DAY,
  Session: 8 * 3600,
  Interaction: 30 * 60,
};
/** How far ahead a client assertion's `exp` may be (SMART Backend Services: at most five minutes). */
const MAX_ASSERTION_AHEAD_S = 300;
const CLOCK_TOLERANCE_S = 15;

export interface ProviderDeps {
  artifacts: ArtifactStore;
  db: Database;
  urls: SmartUrls;
  /** the hospital key: signs access tokens (ES256) */
  accessKey: HospitalSigningKey;
  /** signs id_tokens (RS256) */
  idTokenKey: HospitalSigningKey;
  cookieSecret: Buffer;
  launches: LaunchContexts;
  grants: GrantContexts;
  /** open dynamic registration, else an initial access token is required */
  openRegistration: boolean;
  initialAccessToken: string;
  /** let jwks_uri (and other fetches) reach loopback and private addresses: demo networks and tests only */
  allowPrivateFetch: boolean;
}

/** The origins a client's pages run on: those of its redirect URIs and its launch URI. */
export function clientOrigins(metadata: { redirectUris?: readonly string[]; redirect_uris?: readonly string[]; launch_uri?: unknown }): string[] {
  const uris = [...(metadata.redirectUris ?? metadata.redirect_uris ?? []), ...(typeof metadata.launch_uri === 'string' ? [metadata.launch_uri] : [])];
  return [...new Set(uris.map((u) => URL.parse(u)?.origin).filter((o): o is string => !!o && o !== 'null'))];
}

/** oidc-provider configured as a SMART App Launch 2.2 authorization server for one hospital. */
export function createProvider(deps: ProviderDeps): Provider {
  const { urls } = deps;
  const statics = new Set(STATIC_SCOPES);

  const configuration: Configuration = {
    adapter: (name: string) => deps.artifacts.adapter(name),
    jwks: { keys: [deps.idTokenKey.privateJwk, deps.accessKey.privateJwk] as never },
    cookies: {
      keys: [deps.cookieSecret.toString('base64url')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: { ...ROUTES },
    scopes: STATIC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name'] },
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    // authorize-post is answered by a redirect to the GET form (authorize-post.ts): oidc-provider's own POST
    // support needs SameSite=None session cookies, which browsers drop on plain-http deployments
    enableHttpPostMethods: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: CLOCK_TOLERANCE_S,
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'],
      idTokenSigningAlgValues: ['RS256'],
    },
    extraClientMetadata: {
      properties: ['launch_uri', 'smart_scope'],
      validator(_ctx, key, value, metadata) {
        if (key === 'launch_uri' && value !== undefined) {
          const url = typeof value === 'string' ? URL.parse(value) : null;
          if (!url || !['http:', 'https:'].includes(url.protocol) || url.hash) throw new errors.InvalidClientMetadata('launch_uri must be an absolute http(s) URL without a fragment');
        }
        if (key === 'smart_scope') {
          // oidc-provider accepts only its static scopes in `scope`; the SMART resource scopes a client
          // registers are kept aside in smart_scope (and shown back in `scope`). Unknown ones are dropped.
          const tokens = [...splitScope(metadata.scope), ...splitScope(value)];
          const own = tokens.filter((s) => statics.has(s));
          const smart = parseScopes(tokens.filter((s) => !statics.has(s))).map((s) => s.scope);
          metadata.scope = own.length ? [...new Set(own)].join(' ') : undefined;
          metadata.smart_scope = smart.length ? smart.join(' ') : undefined;
        }
      },
    },
    extraParams: {
      aud(_ctx, value) {
        if (value === undefined) throw new errors.InvalidRequest(`aud is required: the FHIR base URL ${urls.fhirBase}`);
        if (value.replace(/\/+$/, '') !== urls.fhirBase) throw new errors.InvalidRequest(`aud must be this server's FHIR base URL ${urls.fhirBase}`);
      },
      async launch(ctx, value, client) {
        if (value === undefined) {
          if (splitScope(ctx.oidc.params?.scope).includes('launch')) throw new errors.InvalidRequest('the launch scope needs the launch parameter of an EHR launch');
          return;
        }
        if (!(await deps.launches.redeem(value, client.clientId))) throw new errors.InvalidRequest('launch is unknown, expired, already used or issued for another app');
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      introspection: {
        enabled: true,
        // resource servers (confidential clients) may introspect any token; a public client only its own
        allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      registration: {
        enabled: true,
        initialAccessToken: deps.openRegistration ? false : deps.initialAccessToken,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? urls.fhirBase,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource, client) => {
          if (resource.replace(/\/+$/, '') !== urls.fhirBase) throw new errors.InvalidTarget(`the only resource here is ${urls.fhirBase}`);
          const backend = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
          const scope = grantableScopes(ctx, client, backend);
          if (backend && !scope) throw new errors.InvalidScope('request at least one system/ scope this client may use', String(ctx.oidc.params?.scope ?? ''));
          return {
            scope,
            audience: urls.fhirBase,
            accessTokenFormat: 'jwt',
            accessTokenTTL: backend ? BACKEND_TOKEN_LIFETIME_S : MAX_ACCESS_TOKEN_LIFETIME_S,
            jwt: { sign: { alg: 'ES256', kid: deps.accessKey.kid } },
          };
        },
      },
    },
    ttl: { ...TTL },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    expiresWithSession: async (_ctx, code) => !code.scopes.has('offline_access'),
    // every authorization asks for consent: a grant carries one launch context and one ledger permission
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    // on every code exchange and refresh: only the columns needed (a user row also holds their keys). Kept
    // until the database next changes (db.cache): revoking a user is a write, so it takes effect at once
    findAccount: async (_ctx, sub) => {
      const user = await deps.db.cache.get(`smart account ${sub}`, async () => {
        const { rows } = await deps.db.query<{ fhir_user: string; display_name: string }>(`SELECT fhir_user, display_name FROM users WHERE username = $1 AND status = 'active'`, [sub]);
        return { value: rows[0], validUntilMs: Infinity };
      });
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, fhirUser: `${urls.fhirBase}/${user.fhir_user}`, name: user.display_name }) };
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind === 'ClientCredentials') return { grant_kind: 'system' };
      const context = token.grantId ? await deps.grants.find(token.grantId) : undefined;
      return {
        ...(token.grantId ? { grant_id: token.grantId } : {}),
        ...(context?.patient ? { patient: context.patient } : {}),
        ...(context?.encounter ? { encounter: context.encounter } : {}),
      };
    },
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims, header) => {
      if (typeof header.kid !== 'string' || !header.kid) throw new errors.InvalidClientAuth('the client assertion must name its key (kid)');
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      const endpoint = ctx.oidc.route === 'token' ? urls.token : ctx.oidc.urlFor(ctx.oidc.route);
      if (!audiences.includes(endpoint) && !audiences.includes(urls.token)) throw new errors.InvalidClientAuth(`the client assertion's aud must be the token endpoint URL ${urls.token}`);
      if (typeof claims.exp !== 'number' || claims.exp > Math.floor(Date.now() / 1000) + MAX_ASSERTION_AHEAD_S + CLOCK_TOLERANCE_S) {
        throw new errors.InvalidClientAuth('the client assertion may be valid for at most five minutes (exp)');
      }
    },
    clientBasedCORS: (_ctx, origin, client) => clientOrigins({ redirectUris: client.redirectUris, launch_uri: client['launch_uri'] }).includes(origin),
    interactions: { url: async (_ctx, interaction) => `${urls.authBase}/interaction/${interaction.uid}` },
    // oidc-provider guards its fetches against special-use addresses (SSRF) with an undici dispatcher;
    // on a demo network every app is on localhost, so that guard is lifted there
    ...(deps.allowPrivateFetch ? { fetch: (input: string | URL | Request, init?: RequestInit) => globalThis.fetch(input, withoutDispatcher(init)) } : {}),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage('Authorization failed', out.error_description ?? out.error, { error: out.error, ...(out.state ? { state: String(out.state) } : {}) });
    },
  };

  const provider = new Provider(urls.fhirBase, configuration);
  provider.proxy = true;
  return provider;

  /** The scopes of this request a token may carry for this client (the resource server's scope set). */
  function grantableScopes(ctx: KoaContextWithOIDC, client: InstanceType<Provider['Client']>, backend: boolean): string {
    const asked = [ctx.oidc.params?.scope, ctx.oidc.entities.AuthorizationCode?.scope, ctx.oidc.entities.RefreshToken?.scope].filter((s): s is string => typeof s === 'string').join(' ');
    const registered = new Set(splitScope(client['smart_scope']));
    const keep = (s: ParsedScope) => {
      if (statics.has(s.scope)) return !backend;
      const system = s.kind === 'system/launch' || (s.kind === 'resource' && s.context === 'system');
      if (backend !== system) return false;
      // system/launch only for EHR clients registered with it; other SMART scopes within what was registered, if anything was
      if (s.kind === 'system/launch' || registered.size) return registered.has(s.scope);
      return true;
    };
    return parseScopes(asked).filter(keep).map((s) => s.scope).join(' ');
  }
}

function withoutDispatcher(init: RequestInit | undefined): RequestInit | undefined {
  if (!init) return init;
  const { dispatcher: _dispatcher, ...rest } = init as RequestInit & { dispatcher?: unknown };
  return rest;
}

function splitScope(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

export type { ClientMetadata };
