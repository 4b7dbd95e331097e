import type { Context } from 'fabric-contract-api';
import { denied } from './errors.js';
import type { PatientRecord, Role } from './records.js';

/**
 * The caller as the peer authenticated it: MSP id plus the attributes the hospital's CA put in the
 * certificate. Nothing here ever comes from transaction arguments.
 */
export interface Caller {
  mspId: string;
  /** x509::subject::issuer, from fabric-shim */
  certId: string;
  role?: Role;
  fhirUser?: string;
  pseudonym?: string;
  npi?: string;
  emergency: boolean;
}

const ROLES: readonly string[] = ['patient', 'practitioner', 'admin'];
const PRACTITIONER_USER = /^Practitioner\/[A-Za-z0-9.-]{1,64}$/;

function attr(ctx: Context, name: string): string | undefined {
  const value: unknown = ctx.clientIdentity.getAttributeValue(name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function callerOf(ctx: Context): Caller {
  const role = attr(ctx, 'role');
  return {
    mspId: ctx.clientIdentity.getMSPID(),
    certId: ctx.clientIdentity.getID(),
    role: role !== undefined && ROLES.includes(role) ? (role as Role) : undefined,
    fhirUser: attr(ctx, 'fhirUser'),
    pseudonym: attr(ctx, 'pseudonym'),
    npi: attr(ctx, 'npi'),
    emergency: attr(ctx, 'emergency') === 'true',
  };
}

/** `${msp}/Practitioner/<id>` when the caller is a practitioner with a usable fhirUser, else undefined. */
export function practitionerId(caller: Caller): string | undefined {
  if (caller.role !== 'practitioner' || caller.fhirUser === undefined) return undefined;
  if (!PRACTITIONER_USER.test(caller.fhirUser)) return undefined;
  return `${caller.mspId}/${caller.fhirUser}`;
}

/**
 * The identity written into grantedBy / author: a patient acts as their pseudonym, everybody else as
 * `${msp}/${fhirUser}` (an admin without fhirUser as `${msp}/admin`).
 */
export function ledgerId(caller: Caller): string {
  if (caller.role === 'patient' && caller.pseudonym !== undefined) return caller.pseudonym;
  const practitioner = practitionerId(caller);
  if (practitioner !== undefined) return practitioner;
  if (caller.role === 'admin') return `${caller.mspId}/${caller.fhirUser ?? 'admin'}`;
  throw denied('the certificate carries no usable role (patient, practitioner or admin)');
}

/**
 * The patient themself: role patient, pseudonym attribute equal to the record's, and enrolled by the
 * patient's home MSP (another hospital's CA could put any pseudonym in a certificate).
 */
export function isPatientSelf(caller: Caller, patient: Pick<PatientRecord, 'pseudonym' | 'homeMsp'>): boolean {
  return caller.role === 'patient' && caller.pseudonym === patient.pseudonym && caller.mspId === patient.homeMsp;
}

export function isHomeAdmin(caller: Caller, patient: Pick<PatientRecord, 'homeMsp'>): boolean {
  return caller.role === 'admin' && caller.mspId === patient.homeMsp;
}

export function requirePractitioner(caller: Caller, action: string): string {
  const id = practitionerId(caller);
  if (id === undefined) throw denied(`only a practitioner may ${action}`);
  return id;
}
