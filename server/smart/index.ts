import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import type Provider from 'oidc-provider';
import { loadOrCreateKey, loadOrCreateSecret, type HospitalSigningKey } from '../auth/signing-key.js';
import type { Database } from '../db/database.js';
import type { LedgerClient } from '../ledger/index.js';
import type { Users } from '../membership/users.js';
import { openArtifactStore, sweepExpiredArtifacts } from './artifacts/index.js';
import { ClientOrganizations } from './client-organizations.js';
import { fhirCors, openCors, RegisteredOrigins } from './cors.js';
import { capabilitySecurity, smartConfiguration, SMART_STYLE } from './discovery.js';
import { ehrRoutes } from './ehr.js';
import { GrantContexts } from './grants.js';
import { installHooks } from './hooks.js';
import { interactionRoutes } from './interactions.js';
import { launchEndpoint } from './launch-endpoint.js';
import { LaunchContexts } from './launch.js';
import { createProvider } from './provider.js';
import { HospitalSessions } from './session.js';
import { authorizePost } from './authorize-post.js';
import { AUTH_PATH, EHR_PATH, ROUTES, smartUrls, type SmartUrls } from './urls.js';
import { AccessTokenVerifier, type AccessGrant } from './verify.js';

export type { AccessGrant, AccessTokenClaims } from './verify.js';
export { AccessTokenVerifier, invalidToken } from './verify.js';
export * from './scopes.js';
export { smartUrls, type SmartUrls } from './urls.js';
export type { LaunchContext } from './launch.js';

export interface SmartOptions {
  /** dynamic registration without an initial access token (default: SMART_OPEN_REGISTRATION=true) */
  openRegistration?: boolean;
  /** the initial access token registration needs when not open (default: SMART_REGISTRATION_TOKEN, else one kept in <keys>/registration-token) */
  initialAccessToken?: string;
  /** let the server fetch jwks_uri on loopback/private addresses (default: SMART_ALLOW_PRIVATE_FETCH=true); demo and tests only */
  allowPrivateFetch?: boolean;
}

export interface SmartServerDeps {
  db: Database;
  users: Users;
  ledger: LedgerClient;
  /** the public FHIR base, e.g. http://localhost:8080/fhir */
  fhirBase: string;
  /** the hospital's MSP id: the organization its own backend clients act for */
  mspId: string;
  /** where the node keeps its keys (the id_token key, cookie and session secrets are made here) */
  keysDir: string;
  /** the hospital's ES256 key: signs every access token */
  accessKey: HospitalSigningKey;
  options?: SmartOptions;
  log?: (msg: string) => void;
}

/** The SMART App Launch 2.2 authorization server of one hospital node. */
export interface SmartServer {
  urls: SmartUrls;
  provider: Provider;
  verifier: AccessTokenVerifier;
  launches: LaunchContexts;
  openRegistration: boolean;
  /** what registration needs in `Authorization: Bearer` when it is not open */
  initialAccessToken: string;
  /** backend clients the hospital registered itself, and so its organization */
  clientOrganizations: ClientOrganizations;
  /** the contract of enforcement: a token → its grant, or a 401 FhirError */
  verifyAccessToken(token: string | undefined): Promise<AccessGrant>;
  /** mounts discovery, the OAuth endpoints, the login/consent pages and the EHR page (before /fhir) */
  mount(app: express.Express): void;
  /**
   * The HTTP server's request listener: token requests go straight to oidc-provider, everything else to `app`
   * (where mount() serves the token endpoint too). Express's per-request setup (re-prototyping req and res)
   * cost the token endpoint about as much as oidc-provider's own work.
   */
  requestListener(app: RequestListener): RequestListener;
  /** CORS of the FHIR API for registered origins (mount on /fhir before authentication) */
  fhirCors: RequestHandler;
  /** CapabilityStatement.rest[0].security */
  capabilitySecurity: ReturnType<typeof capabilitySecurity>;
  /** stops the timers and waits for pending writes (before the database closes) */
  stop(): Promise<void>;
}

const SWEEP_MS = 10 * 60_000;
const PRUNE_MS = 60_000;

export async function createSmartServer(deps: SmartServerDeps): Promise<SmartServer> {
  const urls = smartUrls(deps.fhirBase);
  const openRegistration = deps.options?.openRegistration ?? process.env.SMART_OPEN_REGISTRATION === 'true';
  const initialAccessToken =
    deps.options?.initialAccessToken ?? process.env.SMART_REGISTRATION_TOKEN ?? (await loadOrCreateSecret(deps.keysDir, 'registration-token')).toString('base64url');
  const allowPrivateFetch = deps.options?.allowPrivateFetch ?? process.env.SMART_ALLOW_PRIVATE_FETCH === 'true';
  const idTokenKey = await loadOrCreateKey(deps.keysDir, 'id-token-signing.jwk.json', 'RS256');
  const cookieSecret = await loadOrCreateSecret(deps.keysDir, 'cookie-secret');
  const sessions = new HospitalSessions(await loadOrCreateSecret(deps.keysDir, 'session-secret'));
  const verifier = new AccessTokenVerifier(deps.db, deps.accessKey, urls.fhirBase);
  const launches = new LaunchContexts(deps.db);
  const grants = new GrantContexts(deps.db);
  const origins = new RegisteredOrigins(deps.db);
  const artifacts = await openArtifactStore(deps.db, { grants, ledgerHeight: () => deps.ledger.projection.height() });
  const provider = createProvider({ artifacts, db: deps.db, urls, accessKey: deps.accessKey, idTokenKey, cookieSecret, launches, grants, openRegistration, initialAccessToken, allowPrivateFetch });
  const clientOrganizations = new ClientOrganizations(deps.db);
  installHooks(provider, { db: deps.db, urls, grants, verifier, registration: { open: openRegistration, initialAccessToken, mspId: deps.mspId, organizations: clientOrganizations } });
  provider.on('registration_create.success', () => origins.invalidate());
  const log = deps.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  provider.on('server_error', (_ctx, err) => log(`authorization server error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));

  const sweeper = setInterval(() => {
    sweepExpiredArtifacts(deps.db).catch((err) => log(`oauth sweep failed: ${err instanceof Error ? err.message : err}`));
  }, SWEEP_MS);
  sweeper.unref();
  const pruner = setInterval(() => artifacts.prune?.(), PRUNE_MS);
  pruner.unref();

  const callback = provider.callback();
  const security = capabilitySecurity(urls);
  const tokenPath = AUTH_PATH + ROUTES.token;

  return {
    urls,
    provider,
    verifier,
    launches,
    openRegistration,
    initialAccessToken,
    clientOrganizations,
    verifyAccessToken: (token) => verifier.verifyAccessToken(token),
    fhirCors: fhirCors(origins),
    capabilitySecurity: security,
    async stop() {
      clearInterval(sweeper);
      clearInterval(pruner);
      await artifacts.idle?.();
    },
    requestListener(app) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (req.method !== 'POST' || req.url !== tokenPath) return app(req, res);
        // as when mounted at AUTH_PATH: oidc-provider finds its mount path from originalUrl
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
        req.url = ROUTES.token;
        void callback(req, res);
      };
    },
    mount(app) {
      const configuration = smartConfiguration(urls);
      app.options('/fhir/.well-known/smart-configuration', openCors);
      app.get('/fhir/.well-known/smart-configuration', openCors, (_req, res) => {
        res.set('Cache-Control', 'public, max-age=300').json(configuration);
      });
      // OpenID discovery lives at the issuer (the FHIR base); oidc-provider answers it under AUTH_PATH
      app.all(['/fhir/.well-known/openid-configuration', '/.well-known/openid-configuration'], (req, res) => {
        req.url = '/.well-known/openid-configuration';
        req.originalUrl = `${AUTH_PATH}/.well-known/openid-configuration`;
        void callback(req, res);
      });
      app.options(`${AUTH_PATH}/smart-style.json`, openCors);
      app.get(`${AUTH_PATH}/smart-style.json`, openCors, (_req, res) => {
        res.set('Cache-Control', 'public, max-age=3600').json(SMART_STYLE);
      });
      app.use(AUTH_PATH, authorizePost(urls));
      app.use(AUTH_PATH, interactionRoutes({ provider, users: deps.users, urls, db: deps.db, ledger: deps.ledger, sessions, launches, grants }));
      app.use(AUTH_PATH, launchEndpoint({ provider, verifier, launches, users: deps.users, db: deps.db }));
      app.use(AUTH_PATH, (req, res) => void callback(req, res));
      app.use(EHR_PATH, ehrRoutes({ users: deps.users, db: deps.db, sessions, launches, urls }));
    },
  };
}

