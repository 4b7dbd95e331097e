import express, { type NextFunction, type Request, type Response } from 'express';
import { CompactEncrypt } from 'jose';
import type { RequestContext } from '../fhir/context.js';
import { readResourceBody } from '../fhir/http/body.js';
import { sendResource } from '../fhir/http/respond.js';
import { badRequest, conflict, forbidden, informational, notFound } from '../fhir/outcome.js';
import type { Resource } from '../fhir/resource.js';
import type { ResourceStore } from '../repositories/resource-store.js';
import type { Enrollment } from './enroll.js';
import type { Revocations } from './revocation.js';
import type { Users } from './users.js';

export interface MembershipOperationDeps {
  users: Users;
  enrollment: Enrollment;
  revocations: Revocations;
  store: ResourceStore;
  ctxOf: (req: Request) => RequestContext;
}

/** PBES2 work factor for exported keys (OWASP's PBKDF2-HMAC-SHA512 figure); importers must allow this p2c. */
export const EXPORT_P2C = 210_000;
const MIN_PASSPHRASE = 12;
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Membership operations (admins of this hospital, and a patient for their own keys):
 * - `POST Patient/$enroll`, `POST Practitioner/$enroll` (role practitioner, or admin): a new account with its
 *   ledger identity, keys and (patients, practitioners) ledger record; a practitioner's NPI must pass the CMS
 *   check digit and be listed in the practitioner directory (else 422, nothing written);
 * - `POST Patient/<id>/$revoke-identity`, `POST Practitioner/<id>/$revoke-identity`: the account is disabled, its
 *   certificate revoked (CRL published to the peer), the resource set `active: false`;
 * - `POST Patient/<id>/$export-keys` with a `passphrase`: the patient's own signing and encryption keys as a JWE
 *   (PBES2-HS512+A256KW, A256GCM) — only the patient themself.
 */
export function membershipOperations(deps: MembershipOperationDeps): (router: express.Router) => void {
  const wrap = (fn: (req: Request, res: Response, ctx: RequestContext) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res, deps.ctxOf(req)).catch(next);
  };
  return (router) => {
    router.post('/Patient/\\$enroll', wrap(async (req, res, ctx) => {
      requireAdmin(ctx, 'Patient');
      const p = params(await readResourceBody(req));
      const username = await newUsername(deps.users, p);
      const gender = optional(p, 'gender');
      if (gender !== undefined && !['male', 'female', 'other', 'unknown'].includes(gender)) throw badRequest('gender must be male, female, other or unknown', ['gender']);
      const birthDate = required(p, 'birthDate');
      if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) throw badRequest('birthDate must be YYYY-MM-DD', ['birthDate']);
      const { patientId } = await deps.enrollment.enrollPatient({
        username,
        password: password(p),
        given: required(p, 'given'),
        family: required(p, 'family'),
        birthDate,
        postalCode: required(p, 'postalCode'),
        gender: gender as 'male' | 'female' | 'other' | 'unknown' | undefined,
      });
      const current = await deps.store.current('Patient', patientId);
      sendResource(res, ctx, 201, current!.resource, { location: `${ctx.baseUrl}/Patient/${patientId}` });
    }));

    router.post('/Practitioner/\\$enroll', wrap(async (req, res, ctx) => {
      requireAdmin(ctx, 'Practitioner');
      const p = params(await readResourceBody(req));
      const role = optional(p, 'role') ?? 'practitioner';
      if (role === 'admin') {
        const username = await newUsername(deps.users, p);
        const user = await deps.enrollment.enrollAdmin(username, password(p), optional(p, 'displayName') ?? username);
        sendResource(res, ctx, 201, { resourceType: 'Parameters', parameter: [{ name: 'username', valueString: user.username }, { name: 'fhirUser', valueString: user.fhir_user }] } as Resource);
        return;
      }
      if (role !== 'practitioner') throw badRequest('role must be practitioner or admin', ['role']);
      const npi = required(p, 'npi');
      await deps.enrollment.verifyNpi(npi); // before anything else is looked at or written
      const username = await newUsername(deps.users, p);
      const id = optional(p, 'id') ?? username.replace(/[^A-Za-z0-9\-.]/g, '-');
      if (!ID_RE.test(id)) throw badRequest(`"${id}" is not a valid FHIR id`, ['id']);
      const existing = await deps.store.current('Practitioner', id);
      if (existing && !existing.deleted) throw conflict(`Practitioner/${id} already exists`);
      const emergency = p.get('emergency');
      const { practitionerId } = await deps.enrollment.enrollPractitioner({
        username,
        password: password(p),
        id,
        given: required(p, 'given'),
        family: required(p, 'family'),
        npi,
        emergency: emergency?.valueBoolean === true,
      });
      const current = await deps.store.current('Practitioner', practitionerId);
      sendResource(res, ctx, 201, current!.resource, { location: `${ctx.baseUrl}/Practitioner/${practitionerId}` });
    }));

    for (const type of ['Patient', 'Practitioner'] as const) {
      router.post(`/${type}/:id/\\$revoke-identity`, wrap(async (req, res, ctx) => {
        requireAdmin(ctx, type);
        const id = String(req.params.id);
        const body = req.headers['content-length'] && req.headers['content-length'] !== '0' ? params(await readResourceBody(req)) : new Map<string, Param>();
        const user = ID_RE.test(id) ? await deps.users.findByFhirUser(`${type}/${id}`) : undefined;
        if (!user) throw notFound(type, `${id} (no account of this hospital)`);
        if (user.username === ctx.caller.username) throw badRequest('an admin cannot revoke their own identity');
        const { serialNumber } = await deps.revocations.revoke(user.username, { by: ctx.caller.username, reason: optional(body, 'reason') });
        const current = await deps.store.current(type, id);
        if (current && !current.deleted && current.resource.active !== false) await deps.store.put(type, { ...current.resource, active: false }, { id });
        sendResource(res, ctx, 200, informational(`the identity of ${type}/${id} (certificate serial ${serialNumber}) is revoked: no login, no tokens, no ledger transactions`));
      }));
    }

    router.post('/Patient/:id/\\$export-keys', wrap(async (req, res, ctx) => {
      const id = String(req.params.id);
      const caller = ctx.caller;
      if (caller.role !== 'patient' || caller.fhirUser !== `Patient/${id}`) throw forbidden('only the patient themself exports their keys');
      if (!caller.unscoped && !caller.scopes.some((s) => /^patient\/(Patient|\*)\.(\*|write|c?r?ud?s?)$/.test(s))) throw forbidden('exporting keys needs a token that may write the patient\'s own Patient resource');
      const passphrase = required(params(await readResourceBody(req)), 'passphrase');
      if ([...passphrase].length < MIN_PASSPHRASE) throw badRequest(`the passphrase must have at least ${MIN_PASSPHRASE} characters`, ['passphrase']);
      const user = await deps.users.find(caller.username);
      if (!user) throw notFound('Patient', id);
      const signingKey = await deps.users.signingKeyOf(user);
      const payload = {
        patient: `Patient/${id}`,
        mspId: caller.mspId,
        pseudonym: user.pseudonym,
        signing: { certificate: user.ledger_cert, privateKey: signingKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
        encryption: { publicJwk: user.encryption_public_jwk, privateJwk: await deps.users.encryptionKeyOf(user) },
        exportedAt: new Date().toISOString(),
      };
      const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: EXPORT_P2C, cty: 'application/json', typ: 'consentry-keys+jwe' })
        .encrypt(new TextEncoder().encode(passphrase));
      res.setHeader('Cache-Control', 'no-store');
      sendResource(res, ctx, 200, { resourceType: 'Parameters', parameter: [{ name: 'keys', valueString: jwe }] } as Resource);
    }));
  };
}

interface Param {
  name: string;
  valueString?: string;
  valueCode?: string;
  valueBoolean?: boolean;
  valueDate?: string;
  valueIdentifier?: { value?: string };
}

function params(body: Resource): Map<string, Param> {
  if (body.resourceType !== 'Parameters') throw badRequest('the body must be a Parameters resource', ['resourceType']);
  const list = (body.parameter as Param[] | undefined) ?? [];
  if (!Array.isArray(list)) throw badRequest('Parameters.parameter must be a list', ['Parameters.parameter']);
  return new Map(list.filter((p) => p && typeof p.name === 'string').map((p) => [p.name, p]));
}

function optional(p: Map<string, Param>, name: string): string | undefined {
  const v = p.get(name);
  const value = v?.valueString ?? v?.valueCode ?? v?.valueDate ?? v?.valueIdentifier?.value;
  if (value !== undefined && (typeof value !== 'string' || value.length > 256)) throw badRequest(`${name} must be a string of at most 256 characters`, [name]);
  return value?.trim() === '' ? undefined : value;
}

function required(p: Map<string, Param>, name: string): string {
  const value = optional(p, name);
  if (value === undefined) throw badRequest(`the parameter "${name}" is required`, [name]);
  return value;
}

function password(p: Map<string, Param>): string {
  const value = required(p, 'password');
  if (value.length < 8) throw badRequest('the password must have at least 8 characters', ['password']);
  return value;
}

async function newUsername(users: Users, p: Map<string, Param>): Promise<string> {
  const username = required(p, 'username');
  if (!USERNAME_RE.test(username)) throw badRequest('username: letters, digits and . _ @ - only, at most 64', ['username']);
  if (await users.find(username)) throw conflict(`the username ${username} is taken`);
  return username;
}

function requireAdmin(ctx: RequestContext, type: string): void {
  const caller = ctx.caller;
  if (caller.role !== 'admin' || caller.grantKind === 'system') throw forbidden(`only an admin of this hospital enrolls or revokes ${type} identities`);
  if (!caller.unscoped && !caller.scopes.some((s) => new RegExp(`^user/(${type}|\\*)\\.(\\*|write|c?r?u?d?s?)$`).test(s) && /[cu*]|write/.test(s.split('.')[1] ?? ''))) {
    throw forbidden(`this token's scopes do not let it write ${type} resources`);
  }
}
