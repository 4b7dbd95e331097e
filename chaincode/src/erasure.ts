import type { ConsentContext } from './context.js';
import { denied, invalid } from './errors.js';
import { isHomeAdmin, isPatientSelf } from './identity.js';
import { requirePatient } from './patients.js';
import { revokedVersion } from './permissions.js';
import type { DocumentMeta, PatientRecord, Permission } from './records.js';

export interface Erasure {
  patient: PatientRecord;
  permissions: Permission[];
  documents: DocumentMeta[];
}

/**
 * Marks the patient erased, ends every permission still in force (revoked, `to` cut to now) and marks
 * every document erased. The records stay, so the ledger remains verifiable.
 */
export async function erasePatient(ctx: ConsentContext, pseudonym: string): Promise<Erasure> {
  const existing = await requirePatient(ctx, pseudonym);
  const caller = ctx.caller;
  if (!isPatientSelf(caller, existing) && !isHomeAdmin(caller, existing)) {
    throw denied(`only patient ${pseudonym} or an admin of ${existing.homeMsp} may erase this patient`);
  }
  if (existing.status === 'erased') throw invalid(`patient ${pseudonym} is already erased`);

  const patient: PatientRecord = { ...existing, status: 'erased' };
  await ctx.store.put('patient', [pseudonym], patient);

  const permissions: Permission[] = [];
  for (const { value } of await ctx.store.list<Permission>('permission', [pseudonym])) {
    if (value.status !== 'active') continue;
    const revoked = revokedVersion(value, ctx);
    await ctx.store.put('permission', [pseudonym, value.id], revoked);
    permissions.push(revoked);
  }
  const documents: DocumentMeta[] = [];
  for (const { value } of await ctx.store.list<DocumentMeta>('document', [pseudonym])) {
    if (value.status === 'erased') continue;
    const erased: DocumentMeta = { ...value, status: 'erased' };
    await ctx.store.put('document', [pseudonym, value.id], erased);
    documents.push(erased);
  }
  ctx.emit('PatientErased', { patient, permissions, documents });
  return { patient, permissions, documents };
}
