import type { NextFunction, Request, Response } from 'express';
import type { Caller, RequestContext } from '../fhir/context.js';
import type { LedgerUser } from '../ledger/identity.js';
import type { Users } from '../membership/users.js';
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
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header);
    if (!m) return next(invalidToken(header ? 'the Authorization header is not a Bearer token' : 'this request needs a Bearer token'));
    verifier
      .verifyWithUser(m[1])
      .then(async ({ grant, user }) => {
        let caller: Caller;
        if (grant.kind === 'system') {
          // A backend service has no user and no ledger identity of its own: the ledger subject is the client
          // (and its organization, when the hospital registered it); it evaluates under the hospital's service
          // identity, and the chaincode lets no document or consent be written under that identity.
          const organization = await opts.clientOrganization(grant.clientId);
          caller = {
            username: `client:${grant.clientId}`,
            role: 'practitioner',
            fhirUser: `Device/${grant.clientId}`,
            mspId: opts.mspId,
            ledgerId: `client/${grant.clientId}`,
            ledgerUser: opts.serviceUser(),
            scopes: grant.scopes.map((s) => s.scope),
          };
          if (organization) caller.clientOrganization = organization;
        } else {
          caller = users.callerOf(user!, grant.scopes.map((s) => s.scope));
          if (grant.clientId === CLI_CLIENT_ID && grant.scopes.length === 0) caller.unscoped = true;
        }
        caller.clientId = grant.clientId;
        caller.grantKind = grant.kind;
        caller.parsedScopes = grant.scopes;
        if (grant.grantId) caller.grantId = grant.grantId;
        if (grant.patient) caller.patientContext = grant.patient;
        if (grant.encounter) caller.encounterContext = grant.encounter;
        const ctx: RequestContext = {
          caller,
          baseUrl: opts.baseUrl,
          mspId: opts.mspId,
          now: new Date(),
          strict: /handling=strict/.test(String(req.headers.prefer ?? '')),
        };
        (req as Request & { fhir?: RequestContext }).fhir = ctx;
        next();
      })
      .catch(next);
  };
}
