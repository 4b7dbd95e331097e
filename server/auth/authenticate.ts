import type { NextFunction, Request, Response } from 'express';
import type { Caller, RequestContext } from '../fhir/context.js';
import type { LedgerUser } from '../ledger/identity.js';
import type { UserRow, Users } from '../membership/users.js';
import { invalidToken, type AccessGrant, type AccessTokenVerifier } from '../smart/verify.js';
import type { ParsedScope } from '../smart/scopes.js';
import { CLI_CLIENT_ID } from './tokens.js';

declare module '../fhir/context.js' {
  interface Caller {
    /** the OAuth client the token was issued to (`consentry-cli` for `npm run token`) */
    clientId?: string;
    /** the FHIR Patient id in the token's launch context (a patient's own id for a patient's token) */
    patientContext?: string;
    /** patient | user | system, see AccessGrant.kind */
    grantKind?: AccessGrant['kind'];
    /** the token's scopes, parsed (unknown ones dropped) */
    parsedScopes?: ParsedScope[];
    encounterContext?: string;
    /** the authorization (oidc-provider Grant) the token was issued under */
    grantId?: string;
    /** a backend service registered by this hospital acts for it too: grants to that organization reach it */
    clientOrganization?: string;
    /** an operator token (`npm run token` without `--scope`): the user's ledger rights, not narrowed by scopes */
    unscoped?: boolean;
  }
}

/**
 * Bearer token → the SMART grant and the user behind it → a request context. Missing, invalid, expired or
 * revoked tokens are a 401 with `WWW-Authenticate: Bearer`. Scopes are carried on the caller; the
 * ScopeGuard and the repositories decide (scopes ∩ ledger).
 */
export function authenticate(
  verifier: AccessTokenVerifier,
  users: Users,
  opts: { baseUrl: string; mspId: string; serviceUser: () => LedgerUser; clientOrganization: (clientId: string) => Promise<string | undefined> },
) {
  // A user's caller is a function of the grant (which the verifier hands out again, the same object, while
  // neither the token nor the database changed): made once per grant. Nothing changes a caller once made.
  const callers = new WeakMap<AccessGrant, Caller>();
  const userCaller = (grant: AccessGrant, user: UserRow): Caller => {
    let caller = callers.get(grant);
    if (caller === undefined) {
      caller = users.callerOf(user, grant.scopes.map((s) => s.scope));
      if (grant.clientId === CLI_CLIENT_ID && grant.scopes.length === 0) caller.unscoped = true;
      withGrant(caller, grant);
      callers.set(grant, caller);
    }
    return caller;
  };
  // A backend service has no user and no ledger identity of its own: the ledger subject is the client
  // (and its organization, when the hospital registered it); it evaluates under the hospital's service
  // identity, and the chaincode lets no document or consent be written under that identity.
  const serviceCaller = async (grant: AccessGrant): Promise<Caller> => {
    const organization = await opts.clientOrganization(grant.clientId);
    const caller: Caller = {
      username: `client:${grant.clientId}`,
      role: 'practitioner',
      fhirUser: `Device/${grant.clientId}`,
      mspId: opts.mspId,
      ledgerId: `client/${grant.clientId}`,
      ledgerUser: opts.serviceUser(),
      scopes: grant.scopes.map((s) => s.scope),
    };
    if (organization) caller.clientOrganization = organization;
    return withGrant(caller, grant);
  };
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = BEARER.exec(header);
    if (!m) return next(invalidToken(header ? 'the Authorization header is not a Bearer token' : 'this request needs a Bearer token'));
    const proceed = (caller: Caller) => {
      const prefer = req.headers.prefer;
      const ctx: RequestContext = {
        caller,
        baseUrl: opts.baseUrl,
        mspId: opts.mspId,
        now: new Date(),
        strict: prefer !== undefined && /handling=strict/.test(String(prefer)),
      };
      (req as Request & { fhir?: RequestContext }).fhir = ctx;
      next();
    };
    verifier
      .verifyWithUser(m[1])
      .then(({ grant, user }) => (grant.kind === 'system' ? serviceCaller(grant).then(proceed) : proceed(userCaller(grant, user!))))
      .catch(next);
  };
}

const BEARER = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)$/i;

function withGrant(caller: Caller, grant: AccessGrant): Caller {
  caller.clientId = grant.clientId;
  caller.grantKind = grant.kind;
  caller.parsedScopes = grant.scopes;
  if (grant.grantId) caller.grantId = grant.grantId;
  if (grant.patient) caller.patientContext = grant.patient;
  if (grant.encounter) caller.encounterContext = grant.encounter;
  return caller;
}
