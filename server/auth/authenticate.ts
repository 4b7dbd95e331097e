import type { NextFunction, Request, Response } from 'express';
import type { Caller, RequestContext } from '../fhir/context.js';
import { forbidden } from '../fhir/outcome.js';
import type { LedgerUser } from '../ledger/identity.js';
import type { Users } from '../membership/users.js';
import { invalidToken, type AccessGrant, type AccessTokenVerifier } from '../smart/verify.js';
import type { ParsedScope } from '../smart/scopes.js';

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
  }
}

/**
 * Bearer token → the SMART grant and the user behind it → a request context. Missing, invalid, expired or
 * revoked tokens are a 401 with `WWW-Authenticate: Bearer`. Scopes are carried on the caller; the
 * repositories decide (scopes ∩ ledger).
 */
export function authenticate(verifier: AccessTokenVerifier, users: Users, opts: { baseUrl: string; mspId: string; serviceUser: () => LedgerUser }) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header);
    if (!m) return next(invalidToken(header ? 'the Authorization header is not a Bearer token' : 'this request needs a Bearer token'));
    verifier
      .verifyWithUser(m[1])
      .then(({ grant, user }) => {
        let caller: Caller;
        if (grant.kind === 'system') {
          // Backend services have no ledger identity of their own; until per-scope enforcement covers
          // them they may only read, under the hospital's service identity, as a caller that matches no grantee.
          if (!['GET', 'HEAD'].includes(req.method)) throw forbidden('backend service tokens may only read');
          caller = {
            username: `client:${grant.clientId}`,
            role: 'practitioner',
            fhirUser: `Device/${grant.clientId}`,
            mspId: opts.mspId,
            ledgerId: `client/${grant.clientId}`,
            ledgerUser: opts.serviceUser(),
            scopes: grant.scopes.map((s) => s.scope),
          };
        } else {
          caller = users.callerOf(user!, grant.scopes.map((s) => s.scope));
        }
        caller.clientId = grant.clientId;
        caller.grantKind = grant.kind;
        caller.parsedScopes = grant.scopes;
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
