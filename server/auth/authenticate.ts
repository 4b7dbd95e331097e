import type { NextFunction, Request, Response } from 'express';
import type { RequestContext } from '../fhir/context.js';
import { unauthorized } from '../fhir/outcome.js';
import type { Users } from '../membership/users.js';
import type { TokenService } from './tokens.js';

/**
 * Bearer token → the user behind it → a request context. For now the decision is the user's identity ∩
 * the ledger; SMART scopes are carried along for the authorization issue to enforce.
 */
export function authenticate(tokens: TokenService, users: Users, opts: { baseUrl: string; mspId: string }) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(header);
    if (!m) return next(unauthorized(header ? 'the Authorization header is not a Bearer token' : 'this request needs a Bearer token'));
    tokens
      .verify(m[1])
      .then(async (claims) => {
        const user = await users.find(claims.sub);
        if (!user || user.status !== 'active') throw unauthorized('the token names no active user of this hospital');
        const ctx: RequestContext = {
          caller: users.callerOf(user, (claims.scope ?? '').split(' ').filter(Boolean)),
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
