import crypto from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Queryable } from '../db/database.js';
import type { ClientOrganizations } from './client-organizations.js';
import type { GrantContexts } from './grants.js';
import { ROUTES, type SmartUrls } from './urls.js';
import type { AccessTokenVerifier } from './verify.js';

const JWT_TOKEN = Symbol('jwt token presented');

/**
 * Pre- and post-processing around oidc-provider (its documented middleware hook):
 * - an authorization request asking for offline_access is a request for consent (see below);
 * - token responses gain the SMART launch context (`patient`, `encounter`, `need_patient_banner`,
 *   `smart_style_url`, `fhirUser`) and `Pragma: no-cache`;
 * - introspection and revocation also accept this server's JWT access tokens (oidc-provider itself only
 *   handles the tokens it stores): the client is authenticated by oidc-provider first;
 * - registration responses show the SMART scopes a client registered back in `scope`; a client registered
 *   with the hospital's initial access token is recorded as the hospital's own (ClientOrganizations).
 */
export function installHooks(
  provider: Provider,
  deps: { db: Queryable; urls: SmartUrls; grants: GrantContexts; verifier: AccessTokenVerifier; registration: { open: boolean; initialAccessToken: string; mspId: string; organizations: ClientOrganizations } },
): void {
  const mark = (ctx: KoaContextWithOIDC, err: Error) => {
    if (err instanceof errors.UnsupportedTokenType && ctx.oidc?.client) (ctx.state as Record<symbol, boolean>)[JWT_TOKEN] = true;
  };
  provider.on('introspection.error', mark);
  provider.on('revocation.error', mark);

  provider.use(async (ctx, next) => {
    // OpenID Connect drops offline_access unless prompt=consent; every authorization here shows the
    // consent screen anyway, so a SMART app asking for offline_access says exactly that
    if (ctx.method === 'GET' && ctx.path === ROUTES.authorization && typeof ctx.query.scope === 'string' && ctx.query.scope.split(' ').includes('offline_access') && ctx.query.prompt === undefined) {
      ctx.query = { ...ctx.query, prompt: 'consent' };
    }
    await next();
    const c = ctx as KoaContextWithOIDC;
    const route = c.oidc?.route;
    if (!route) return;
    if (route === 'token') {
      ctx.set('Pragma', 'no-cache');
      ctx.set('Cache-Control', 'no-store');
      if (ctx.status === 200 && isRecord(ctx.body)) await addLaunchContext(c, ctx.body);
    } else if ((route === 'introspection' || route === 'revocation') && (ctx.state as Record<symbol, boolean>)[JWT_TOKEN]) {
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Pragma', 'no-cache');
      ctx.type = 'json';
      if (route === 'introspection') {
        ctx.status = 200;
        ctx.body = await introspectJwt(c);
      } else {
        await revokeJwt(c);
        ctx.status = 200;
        ctx.body = '';
      }
    } else if ((route === 'registration' || route === 'client') && isRecord(ctx.body)) {
      const body = ctx.body;
      if (route === 'registration' && ctx.status === 201 && typeof body.client_id === 'string' && registeredByHospital(ctx.get('authorization'))) {
        await deps.registration.organizations.record(body.client_id, deps.registration.mspId);
      }
      if (typeof body.smart_scope === 'string') {
        body.scope = [body.scope, body.smart_scope].filter((s) => typeof s === 'string' && s).join(' ');
        delete body.smart_scope;
      }
    }
  });

  /**
   * Registered by the hospital: with its initial access token (always, when registration is closed, since
   * oidc-provider has checked it; when open, only if the request presented it anyway).
   */
  function registeredByHospital(authorization: string): boolean {
    if (!deps.registration.open) return true;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return false;
    const given = Buffer.from(m[1]);
    const expected = Buffer.from(deps.registration.initialAccessToken);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }

  async function addLaunchContext(ctx: KoaContextWithOIDC, body: Record<string, unknown>): Promise<void> {
    const token = ctx.oidc.entities.AccessToken;
    if (!token?.grantId) return;
    const context = await deps.grants.find(token.grantId);
    if (context?.patient) body.patient = context.patient;
    if (context?.encounter) body.encounter = context.encounter;
    body.need_patient_banner = context?.needPatientBanner ?? true;
    body.smart_style_url = deps.urls.style;
    const scopes = String(body.scope ?? '').split(' ');
    if (scopes.includes('fhirUser') && token.accountId) {
      const { rows } = await deps.db.query<{ fhir_user: string }>('SELECT fhir_user FROM users WHERE username = $1', [token.accountId]);
      if (rows[0]) body.fhirUser = `${deps.urls.fhirBase}/${rows[0].fhir_user}`;
    }
  }

  async function introspectJwt(ctx: KoaContextWithOIDC): Promise<Record<string, unknown>> {
    try {
      const { grant, claims } = await deps.verifier.verifyWithUser(String(ctx.oidc.params?.token ?? ''));
      const client = ctx.oidc.client!;
      // a public client may only learn about its own tokens
      if (client.clientAuthMethod === 'none' && grant.clientId !== client.clientId) return { active: false };
      return {
        active: true,
        scope: grant.scopes.map((s) => s.scope).join(' '),
        client_id: grant.clientId,
        sub: claims.sub,
        exp: claims.exp,
        iat: claims.iat,
        iss: claims.iss,
        aud: claims.aud,
        jti: claims.jti,
        token_type: 'Bearer',
        ...(grant.patient ? { patient: grant.patient } : {}),
        ...(grant.encounter ? { encounter: grant.encounter } : {}),
        ...(grant.fhirUser ? { fhirUser: `${deps.urls.fhirBase}/${grant.fhirUser}` } : {}),
      };
    } catch {
      return { active: false };
    }
  }

  async function revokeJwt(ctx: KoaContextWithOIDC): Promise<void> {
    let claims;
    try {
      claims = await deps.verifier.verifySignature(String(ctx.oidc.params?.token ?? ''), { ignoreExpiry: true });
    } catch {
      return; // RFC 7009: an invalid token is not an error
    }
    if (claims.client_id !== ctx.oidc.client!.clientId) return;
    await deps.db.query('INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2)) ON CONFLICT (jti) DO NOTHING', [claims.jti, claims.exp]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
