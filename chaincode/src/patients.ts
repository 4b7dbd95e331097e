import type { ConsentContext } from './context.js';
import { denied, invalid, notFound } from './errors.js';
import { isHomeAdmin, isPatientSelf } from './identity.js';
import type { OrganizationRecord, PatientRecord, PractitionerRecord } from './records.js';
import * as v from './validate.js';

export async function findPatient(ctx: ConsentContext, pseudonym: string): Promise<PatientRecord | undefined> {
  return ctx.store.get<PatientRecord>('patient', [v.id(pseudonym, 'patient')]);
}

export async function requirePatient(ctx: ConsentContext, pseudonym: string): Promise<PatientRecord> {
  const patient = await findPatient(ctx, pseudonym);
  if (!patient) throw notFound(`patient ${pseudonym}`);
  return patient;
}

export async function requireActivePatient(ctx: ConsentContext, pseudonym: string): Promise<PatientRecord> {
  const patient = await requirePatient(ctx, pseudonym);
  if (patient.status !== 'active') throw invalid(`patient ${pseudonym} is erased`);
  return patient;
}

/**
 * First registration by the patient (their MSP becomes homeMsp) or by an admin (the admin's MSP).
 * Re-registration by the patient or a home admin replaces the encryption key; an erased patient stays erased.
 */
export async function registerPatient(ctx: ConsentContext, recordJson: string): Promise<PatientRecord> {
  const input = v.objectArg(recordJson, 'patient record', ['pseudonym', 'encryptionKey']);
  const pseudonym = v.id(input.pseudonym, 'pseudonym');
  const encryptionKey = v.publicJwk(input.encryptionKey, 'encryptionKey');
  const caller = ctx.caller;
  const existing = await findPatient(ctx, pseudonym);

  let record: PatientRecord;
  if (existing) {
    if (existing.status === 'erased') throw invalid(`patient ${pseudonym} is erased and cannot be registered again`);
    if (!isPatientSelf(caller, existing) && !isHomeAdmin(caller, existing)) {
      throw denied(`only patient ${pseudonym} or an admin of ${existing.homeMsp} may update this record`);
    }
    record = { ...existing, encryptionKey };
  } else {
    const selfEnrolment = caller.role === 'patient' && caller.pseudonym === pseudonym;
    if (!selfEnrolment && caller.role !== 'admin') {
      throw denied(`only patient ${pseudonym} or a hospital admin may register this patient`);
    }
    record = { pseudonym, homeMsp: caller.mspId, encryptionKey, status: 'active', createdAt: ctx.now };
  }
  await ctx.store.put('patient', [pseudonym], record);
  ctx.emit('PatientRegistered', { patient: record });
  return record;
}

/** By an admin of the practitioner's own MSP; re-registration updates npi and key. */
export async function registerPractitioner(ctx: ConsentContext, recordJson: string): Promise<PractitionerRecord> {
  const input = v.objectArg(recordJson, 'practitioner record', ['id', 'npi', 'encryptionKey']);
  const practitionerId = v.practitionerLedgerId(input.id, 'id');
  const npi = v.npi(input.npi);
  const encryptionKey = v.publicJwk(input.encryptionKey, 'encryptionKey');
  const caller = ctx.caller;
  if (caller.role !== 'admin') throw denied('only an admin may register practitioners');
  if (!practitionerId.startsWith(`${caller.mspId}/Practitioner/`)) {
    throw denied(`an admin of ${caller.mspId} may register only ${caller.mspId}/Practitioner/... ids`);
  }
  const record: PractitionerRecord = {
    id: practitionerId,
    msp: caller.mspId,
    npi,
    encryptionKey,
    verifiedAt: ctx.now,
  };
  await ctx.store.put('practitioner', [practitionerId], record);
  ctx.emit('PractitionerRegistered', { practitioner: record });
  return record;
}

export async function getPractitioner(ctx: ConsentContext, practitionerId: string): Promise<PractitionerRecord> {
  const record = await ctx.store.get<PractitionerRecord>('practitioner', [
    v.practitionerLedgerId(practitionerId, 'practitionerId'),
  ]);
  if (!record) throw notFound(`practitioner ${practitionerId}`);
  return record;
}

/** By an admin of that MSP, for its own organization only; re-registration replaces the key. */
export async function registerOrganization(ctx: ConsentContext, recordJson: string): Promise<OrganizationRecord> {
  const input = v.objectArg(recordJson, 'organization record', ['msp', 'encryptionKey', 'signingKey']);
  const msp = v.mspId(input.msp, 'msp');
  const encryptionKey = v.publicJwk(input.encryptionKey, 'encryptionKey');
  const signingKey = input.signingKey === undefined ? undefined : v.p256PublicJwk(input.signingKey, 'signingKey');
  const caller = ctx.caller;
  if (caller.role !== 'admin') throw denied('only an admin may register an organization key');
  if (msp !== caller.mspId) throw denied(`an admin of ${caller.mspId} may register only the key of ${caller.mspId}`);
  const record: OrganizationRecord = { msp, encryptionKey, ...(signingKey ? { signingKey } : {}), registeredAt: ctx.now };
  await ctx.store.put('organization', [msp], record);
  ctx.emit('OrganizationRegistered', { organization: record });
  return record;
}

export async function getOrganization(ctx: ConsentContext, msp: string): Promise<OrganizationRecord> {
  const record = await ctx.store.get<OrganizationRecord>('organization', [v.mspId(msp, 'msp')]);
  if (!record) throw notFound(`organization ${msp}`);
  return record;
}
