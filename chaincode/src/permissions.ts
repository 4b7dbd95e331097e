import type { ConsentContext } from './context.js';
import { denied, invalid, notFound } from './errors.js';
import { isHomeAdmin, isPatientSelf, ledgerId, practitionerId, type Caller } from './identity.js';
import { parseJsonArg } from './json.js';
import { findPatient, requireActivePatient, requirePatient } from './patients.js';
import type { AccessDecision, HistoryEntry, PatientRecord, Permission } from './records.js';
import { decide, granteeMatches, type Subject } from './rules.js';
import { isoFromMs } from './time.js';
import * as v from './validate.js';

const PERMISSION_FIELDS = ['id', 'patient', 'grantee', 'rights', 'categories', 'from', 'to', 'purpose', 'studyId', 'anonymize'];
const EMERGENCY_HOURS = 4;

type PermissionTerms = Pick<
  Permission,
  'id' | 'patient' | 'grantee' | 'rights' | 'categories' | 'from' | 'to' | 'purpose' | 'studyId' | 'anonymize'
>;

function parseTerms(permissionJson: string): PermissionTerms {
  const input = v.objectArg(permissionJson, 'permission', PERMISSION_FIELDS);
  const terms: PermissionTerms = {
    id: v.id(input.id, 'id'),
    patient: v.id(input.patient, 'patient'),
    grantee: v.grantee(input.grantee),
    rights: v.rights(input.rights),
    categories: v.permissionCategories(input.categories),
    from: v.instant(input.from, 'from'),
    to: v.instant(input.to, 'to'),
    purpose: v.purpose(input.purpose),
    studyId: input.studyId === undefined ? undefined : v.id(input.studyId, 'studyId'),
    anonymize: v.optionalBoolean(input.anonymize, 'anonymize'),
  };
  if (!(terms.from < terms.to)) throw invalid('from must be before to');
  if (terms.rights.includes('share') && terms.studyId === undefined) throw invalid('the share right requires a studyId');
  return terms;
}

async function requirePatientCaller(ctx: ConsentContext, pseudonym: string, action: string): Promise<PatientRecord> {
  const patient = await requirePatient(ctx, pseudonym);
  if (!isPatientSelf(ctx.caller, patient)) throw denied(`only patient ${pseudonym} may ${action} their permissions`);
  if (patient.status !== 'active') throw invalid(`patient ${pseudonym} is erased`);
  return patient;
}

function findPermission(ctx: ConsentContext, patient: string, permissionId: string): Promise<Permission | undefined> {
  return ctx.store.get<Permission>('permission', [patient, v.id(permissionId, 'permissionId')]);
}

export async function grantPermission(ctx: ConsentContext, permissionJson: string): Promise<Permission> {
  const terms = parseTerms(permissionJson);
  await requirePatientCaller(ctx, terms.patient, 'grant');
  if (await findPermission(ctx, terms.patient, terms.id)) throw invalid(`permission ${terms.id} already exists`);
  const permission: Permission = {
    ...terms,
    grantedBy: ledgerId(ctx.caller),
    timestamp: ctx.now,
    status: 'active',
    version: 1,
  };
  await ctx.store.put('permission', [terms.patient, terms.id], permission);
  ctx.emit('PermissionGranted', { permission });
  return permission;
}

/** A new version of an active permission; everything but id and patient may change. */
export async function updatePermission(ctx: ConsentContext, permissionJson: string): Promise<Permission> {
  const terms = parseTerms(permissionJson);
  await requirePatientCaller(ctx, terms.patient, 'change');
  const existing = await findPermission(ctx, terms.patient, terms.id);
  if (!existing) throw notFound(`permission ${terms.patient}/${terms.id}`);
  if (existing.status !== 'active') throw invalid(`permission ${terms.id} is revoked`);
  if (existing.emergency) throw invalid('a break-glass permission cannot be changed, only revoked');
  const permission: Permission = {
    ...terms,
    grantedBy: ledgerId(ctx.caller),
    timestamp: ctx.now,
    status: 'active',
    version: existing.version + 1,
  };
  await ctx.store.put('permission', [terms.patient, terms.id], permission);
  ctx.emit('PermissionUpdated', { permission, previous: existing });
  return permission;
}

/** The next version of a permission with status revoked; `to` never moves later than it was. */
export function revokedVersion(permission: Permission, ctx: ConsentContext): Permission {
  const to = permission.to < ctx.now ? permission.to : ctx.now;
  return { ...permission, status: 'revoked', to, timestamp: ctx.now, version: permission.version + 1 };
}

/** Writes the permission again with status revoked and `to` = tx time (never later than it was). */
export async function revokePermission(ctx: ConsentContext, pseudonym: string, permissionId: string): Promise<Permission> {
  await requirePatientCaller(ctx, pseudonym, 'revoke');
  const existing = await findPermission(ctx, pseudonym, permissionId);
  if (!existing) throw notFound(`permission ${pseudonym}/${permissionId}`);
  if (existing.status !== 'active') throw invalid(`permission ${permissionId} is already revoked`);
  const permission = revokedVersion(existing, ctx);
  await ctx.store.put('permission', [pseudonym, permissionId], permission);
  ctx.emit('PermissionRevoked', { permission });
  return permission;
}

/** Break-glass: a 4-hour read on every category but patient-private, flagged and justified. */
export async function emergencyAccess(ctx: ConsentContext, pseudonym: string, reason: string): Promise<Permission> {
  const practitioner = practitionerId(ctx.caller);
  if (practitioner === undefined || !ctx.caller.emergency) {
    throw denied('emergency access requires a practitioner certificate with the attribute emergency=true');
  }
  const justification = v.text(reason, 'reason', 1000);
  await requireActivePatient(ctx, pseudonym);
  // 32 hex of the tx id (128 bits) keeps the id within FHIR's 64-character limit
  const permissionId = `btg-${ctx.stub.getTxID().slice(0, 32)}`;
  if (await findPermission(ctx, pseudonym, permissionId)) {
    throw invalid(`emergency access for patient ${pseudonym} was already requested in this transaction`);
  }
  const permission: Permission = {
    id: permissionId,
    patient: pseudonym,
    grantee: { kind: 'practitioner', id: practitioner },
    rights: ['read'],
    categories: ['*'],
    from: ctx.now,
    to: isoFromMs(ctx.nowMs + EMERGENCY_HOURS * 3600_000),
    purpose: 'BTG',
    emergency: true,
    reason: justification,
    grantedBy: practitioner,
    timestamp: ctx.now,
    status: 'active',
    version: 1,
  };
  await ctx.store.put('permission', [pseudonym, permissionId], permission);
  ctx.emit('EmergencyAccess', { permission });
  return permission;
}

function parseSubject(granteeJson: string): Subject {
  const value = parseJsonArg(granteeJson, 'grantee');
  const raw = v.asObject(value, 'grantee', ['kind', 'id']);
  if (raw.kind === 'patient') return { kind: 'patient', id: v.id(raw.id, 'grantee.id') };
  return v.grantee(value);
}

/** Who may ask: the patient, any admin (a hospital deciding for its users), or the subject themself. */
function mayAsk(caller: Caller, pseudonym: string, patient: PatientRecord | undefined, subject: Subject): boolean {
  if (caller.role === 'admin') return true;
  if (caller.role === 'patient' && caller.pseudonym === pseudonym && (!patient || caller.mspId === patient.homeMsp)) {
    return true;
  }
  const practitioner = practitionerId(caller);
  if (practitioner === undefined) return false;
  return (
    (subject.kind === 'practitioner' && subject.id === practitioner) ||
    (subject.kind === 'organization' && subject.id === caller.mspId)
  );
}

export async function patientPermissions(ctx: ConsentContext, pseudonym: string): Promise<Permission[]> {
  return (await ctx.store.list<Permission>('permission', [pseudonym])).map((e) => e.value);
}

export async function checkAccess(
  ctx: ConsentContext,
  pseudonym: string,
  granteeJson: string,
  rightArg: string,
  categoryArg: string,
  at: string,
): Promise<AccessDecision> {
  v.id(pseudonym, 'patient');
  const subject = parseSubject(granteeJson);
  const right = v.right(rightArg);
  const category = v.documentCategory(categoryArg);
  const atMs = at === '' ? ctx.nowMs : v.instantMs(at, 'at');
  const patient = await findPatient(ctx, pseudonym);
  if (!mayAsk(ctx.caller, pseudonym, patient, subject)) {
    throw denied('only the patient, an admin, or the grantee themself may check access');
  }
  const permissions = patient ? await patientPermissions(ctx, pseudonym) : [];
  return decide(patient, permissions, subject, right, category, atMs);
}

/**
 * Who may see a permission: the patient and admins of the home MSP see all; a practitioner sees the
 * permissions granted to them or to their organization; an admin of another MSP sees those granted to
 * that MSP or its practitioners. Nobody else sees any.
 */
export function canSeePermission(caller: Caller, patient: PatientRecord, permission: Permission): boolean {
  if (isPatientSelf(caller, patient) || isHomeAdmin(caller, patient)) return true;
  const practitioner = practitionerId(caller);
  if (practitioner !== undefined) return granteeMatches(permission.grantee, { kind: 'practitioner', id: practitioner });
  if (caller.role === 'admin') {
    const g = permission.grantee;
    return (
      (g.kind === 'organization' && g.id === caller.mspId) ||
      (g.kind === 'practitioner' && g.id.startsWith(`${caller.mspId}/Practitioner/`))
    );
  }
  return false;
}

export async function listPermissions(ctx: ConsentContext, pseudonym: string): Promise<Permission[]> {
  const patient = await requirePatient(ctx, pseudonym);
  return (await patientPermissions(ctx, pseudonym)).filter((p) => canSeePermission(ctx.caller, patient, p));
}

/** Every version of the permission's key, newest first; hidden permissions answer like missing ones. */
export async function permissionHistory(
  ctx: ConsentContext,
  pseudonym: string,
  permissionId: string,
): Promise<HistoryEntry<Permission>[]> {
  const patient = await requirePatient(ctx, pseudonym);
  const current = await findPermission(ctx, pseudonym, permissionId);
  if (!current || !canSeePermission(ctx.caller, patient, current)) {
    throw notFound(`permission ${pseudonym}/${permissionId}`);
  }
  return ctx.store.history<Permission>('permission', [pseudonym, permissionId]);
}
