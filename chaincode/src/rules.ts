import { coversCategory } from './categories.js';
import type { AccessDecision, Grantee, PatientRecord, Permission, Right } from './records.js';
import { isoFromMs, parseInstant } from './time.js';

/** Who access is asked for: a permission grantee, or the patient themself. */
export type Subject = Grantee | { kind: 'patient'; id: string };

/**
 * Whether a permission's grantee is the subject. A grant to an organization (MSP id) covers that
 * organization's practitioners, whose ledger ids are `${msp}/Practitioner/<id>`.
 */
export function granteeMatches(grantee: Grantee, subject: Subject): boolean {
  if (grantee.kind === subject.kind && grantee.id === subject.id) return true;
  return (
    grantee.kind === 'organization' &&
    subject.kind === 'practitioner' &&
    subject.id.startsWith(`${grantee.id}/Practitioner/`)
  );
}

/**
 * The window in which a permission holds: [from, to). Revocation cuts `to` down to the revocation time,
 * so a revoked permission still answers for instants before it was revoked and never after.
 */
export function holdsAt(permission: Permission, atMs: number): boolean {
  if (permission.status !== 'active' && permission.status !== 'revoked') return false;
  return parseInstant(permission.from, 'from') <= atMs && atMs < parseInstant(permission.to, 'to');
}

export function permits(permission: Permission, subject: Subject, right: Right, category: string, atMs: number): boolean {
  return (
    granteeMatches(permission.grantee, subject) &&
    permission.rights.includes(right) &&
    coversCategory(permission.categories, category) &&
    holdsAt(permission, atMs)
  );
}

/**
 * The access decision of DESIGN §3. `permissions` are the patient's permissions in key order; the
 * first that permits decides, so the answer is deterministic.
 */
export function decide(
  patient: PatientRecord | undefined,
  permissions: readonly Permission[],
  subject: Subject,
  right: Right,
  category: string,
  atMs: number,
): AccessDecision {
  if (patient === undefined) return { allowed: false, reason: 'patient is not registered' };
  if (patient.status === 'erased') return { allowed: false, reason: 'patient is erased' };
  if (subject.kind === 'patient') {
    return subject.id === patient.pseudonym
      ? { allowed: true, reason: 'the patient always has access to their own data' }
      : { allowed: false, reason: 'a patient has access only to their own data' };
  }
  const permission = permissions.find((p) => permits(p, subject, right, category, atMs));
  if (permission) return { allowed: true, reason: `granted by permission ${permission.id}`, permission };
  return {
    allowed: false,
    reason: `no permission grants ${right} on ${category} to ${subject.kind} ${subject.id} at ${isoFromMs(atMs)}`,
  };
}
