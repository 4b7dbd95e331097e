import express, { type RequestHandler } from 'express';
import { authenticate } from './auth/authenticate.js';
import { capabilityStatement } from './fhir/capability.js';
import { errorHandler } from './fhir/http/errors.js';
import { directDispatch } from './fhir/http/direct-dispatch.js';
import { negotiate } from './fhir/http/negotiate.js';
import { FHIR_JSON, sendResource } from './fhir/http/respond.js';
import { FhirError } from './fhir/outcome.js';
import type { RepositoryRegistry } from './fhir/registry.js';
import { fhirRouter } from './fhir/router.js';
import type { LedgerProjection } from './ledger/projection.js';
import type { Users } from './membership/users.js';
import type { SubmitLedgerBatch } from './fhir/bundle-processor.js';
import type { LedgerUser } from './ledger/identity.js';
import type { SmartServer } from './smart/index.js';

export interface AppDeps {
  baseUrl: string;
  mspId: string;
  registry: RepositoryRegistry;
  /** the SMART authorization server: discovery, OAuth endpoints, pages, token verification, CORS */
  smart: SmartServer;
  users: Users;
  /** the hospital's own ledger identity (backend-service callers evaluate under it) */
  serviceUser: LedgerUser;
  projection: LedgerProjection;
  submitBatch: SubmitLedgerBatch;
  /** CapabilityStatement entries for the extra routes */
  extraCapabilities?: object[];
  /** routes mounted under /fhir before the generic interactions (Binary streaming, operations) */
  extraRoutes?: (router: express.Router) => void;
  /** the web portals (server/web), mounted at /portal */
  portals?: express.Router;
  log?: (msg: string) => void;
}

/** HTTP → authenticate → FHIR router → repositories (which decide) → response. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const log = deps.log ?? ((m: string) => process.stderr.write(`${m}\n`));

  const fhir = express.Router();
  // every FHIR response says which replica height it was decided at: the current one until a repository
  // decides at its own (a 401 too: whether a token is still active is decided on the replica)
  const ledgerHeight: RequestHandler = (_req, res, next) => {
    res.setHeader('X-Ledger-Height', String(deps.projection.height()));
    next();
  };
  const authenticated = authenticate(deps.smart.verifier, deps.users, {
    baseUrl: deps.baseUrl,
    mspId: deps.mspId,
    serviceUser: () => deps.serviceUser,
    clientOrganization: (clientId) => deps.smart.clientOrganizations.of(clientId),
  });
  const interactions = fhirRouter(deps.registry, { submitBatch: deps.submitBatch });
  const notFound: RequestHandler = (req, _res, next) => next(new FhirError(404, 'not-found', `no FHIR interaction at ${req.method} ${req.path}`));
  // GET reads and searches straight to their route (the same layers run, without express walking them all)
  directDispatch({ app, mountedBefore: deps.smart.fhirCors, fhir, middleware: [ledgerHeight, negotiate, authenticated], interactions, after: notFound });

  app.get('/health', (_req, res) => {
    try {
      const height = deps.projection.assertFresh();
      res.setHeader('X-Ledger-Height', String(height));
      res.json({ status: 'ok', mspId: deps.mspId, ledgerHeight: deps.projection.ledgerHeight(), replicaHeight: height });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: err instanceof Error ? err.message : String(err) });
    }
  });

  deps.smart.mount(app);
  if (deps.portals) app.use('/portal', deps.portals);
  app.use('/fhir', deps.smart.fhirCors);

  fhir.use(ledgerHeight);
  fhir.use(negotiate);
  fhir.get('/metadata', (_req, res) => {
    const statement = capabilityStatement(deps.registry, { baseUrl: deps.baseUrl, software: 'Consentry', version: '0.1.0', extraResources: deps.extraCapabilities });
    for (const rest of statement.rest) rest.security = deps.smart.capabilitySecurity;
    res.type(FHIR_JSON).send(JSON.stringify(statement));
  });
  fhir.use(authenticated);
  deps.extraRoutes?.(fhir);
  fhir.use(interactions);
  fhir.use(notFound);
  app.use('/fhir', fhir);
  app.use((req, res) => sendResource(res, undefined, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: `nothing at ${req.path}` }] }));
  app.use(errorHandler(log));
  return app;
}
