import express, { type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import type { Queryable } from '../db/database.js';
import type { Users } from '../membership/users.js';
import type { LaunchContexts } from './launch.js';
import { localPatient } from './patients.js';
import { hasScope } from './scopes.js';
import type { AccessTokenVerifier } from './verify.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * `POST {base}/auth/launch`: an EHR registers a launch context with its backend credentials — a
 * client_credentials access token with scope `system/launch` (only granted to clients registered with that
 * scope). Body (JSON or form): `client_id` (the app), `patient`, `practitioner` (Practitioner/<id> of this
 * hospital), optional `encounter`. Answers `{ "launch": "<opaque handle>", "expires_in": 300 }`.
 */
export function launchEndpoint(deps: { provider: Provider; verifier: AccessTokenVerifier; launches: LaunchContexts; users: Users; db: Queryable }): express.Router {
  const router = express.Router();
  router.post('/launch', express.json({ limit: '8kb' }), express.urlencoded({ extended: false, limit: '8kb' }), async (req: Request, res: Response) => {
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const fail = (status: number, error: string, description: string) => {
      if (status === 401) res.set('WWW-Authenticate', `Bearer error="${error}", error_description="${description}"`);
      res.status(status).json({ error, error_description: description });
    };
    try {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      let grant;
      try {
        grant = await deps.verifier.verifyAccessToken(m?.[1]);
      } catch {
        return fail(401, 'invalid_token', 'a valid backend access token is required');
      }
      if (grant.kind !== 'system' || !hasScope(grant.scopes, 'system/launch')) return fail(403, 'insufficient_scope', 'the token needs the system/launch scope');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const clientId = body.client_id;
      const patient = typeof body.patient === 'string' ? body.patient.replace(/^Patient\//, '') : '';
      const practitioner = typeof body.practitioner === 'string' ? body.practitioner : '';
      const encounter = typeof body.encounter === 'string' && body.encounter ? body.encounter.replace(/^Encounter\//, '') : undefined;
      if (typeof clientId !== 'string' || !(await deps.provider.Client.find(clientId))) return fail(400, 'invalid_request', 'client_id must name a registered app');
      if (!ID.test(patient) || !(await localPatient(deps.db, patient))) return fail(400, 'invalid_request', 'patient must name a Patient of this hospital');
      const user = /^Practitioner\/[A-Za-z0-9\-.]{1,64}$/.test(practitioner) ? await deps.users.findByFhirUser(practitioner) : undefined;
      if (!user || user.role !== 'practitioner' || user.status !== 'active') return fail(400, 'invalid_request', 'practitioner must name an active Practitioner of this hospital');
      if (encounter !== undefined && !ID.test(encounter)) return fail(400, 'invalid_request', 'encounter must be an Encounter id');
      const { launch, expiresIn } = await deps.launches.register({ clientId, patient, practitioner, ...(encounter ? { encounter } : {}), issuedBy: grant.clientId });
      res.status(201).json({ launch, expires_in: expiresIn });
    } catch (err) {
      fail(500, 'server_error', err instanceof Error ? err.message : String(err));
    }
  });
  return router;
}
