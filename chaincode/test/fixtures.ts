// The cast of the seed scenario (DESIGN §7) and builders for transaction arguments.
import { expect } from 'vitest';
import { ok, Pki, TestNetwork, type Identity, type TxResult } from './harness.js';

export const A = 'HospitalAMSP';
export const B = 'HospitalBMSP';
export const RYU = `${A}/Practitioner/ryu`;
export const LEE = `${B}/Practitioner/lee`;
export const ERIN = `${B}/Practitioner/erin`;

export const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

export interface Cast {
  p1: Identity;
  p2: Identity;
  /** claims pseudonym p1 but was enrolled by the other hospital's CA */
  p1FromB: Identity;
  ryu: Identity;
  lee: Identity;
  erin: Identity;
  adminA: Identity;
  adminB: Identity;
  /** a member without role attributes */
  nobody: Identity;
}

export async function cast(): Promise<Cast> {
  const pki = new Pki();
  return {
    p1: await pki.identity(A, 'p1', { role: 'patient', fhirUser: 'Patient/p1', pseudonym: 'p1' }),
    p2: await pki.identity(A, 'p2', { role: 'patient', fhirUser: 'Patient/p2', pseudonym: 'p2' }),
    p1FromB: await pki.identity(B, 'p1', { role: 'patient', fhirUser: 'Patient/p1', pseudonym: 'p1' }),
    ryu: await pki.identity(A, 'ryu', { role: 'practitioner', fhirUser: 'Practitioner/ryu', npi: '1234567893' }),
    lee: await pki.identity(B, 'lee', { role: 'practitioner', fhirUser: 'Practitioner/lee', npi: '1245319599' }),
    erin: await pki.identity(B, 'erin', { role: 'practitioner', fhirUser: 'Practitioner/erin', npi: '1003000126', emergency: 'true' }),
    adminA: await pki.identity(A, 'admin', { role: 'admin', fhirUser: 'Practitioner/admin-a' }),
    adminB: await pki.identity(B, 'admin', { role: 'admin' }),
    nobody: await pki.identity(A, 'nobody', {}),
  };
}

export const T0 = Date.UTC(2025, 0, 1, 8, 0, 0);
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
export const iso = (ms: number): string => new Date(ms).toISOString();

export function permission(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'perm-lee',
    patient: 'p1',
    grantee: { kind: 'practitioner', id: LEE },
    rights: ['read'],
    categories: ['lab-results', 'radiation-dose'],
    from: '2025-01-01T00:00:00Z',
    to: '2025-04-01T00:00:00Z',
    purpose: 'TREAT',
    ...over,
  });
}

let docCounter = 0;
export function document(over: Record<string, unknown> = {}): string {
  docCounter += 1;
  return JSON.stringify({
    id: `doc-${docCounter}`,
    patient: 'p1',
    category: 'lab-results',
    type: '11502-2',
    blob: `blobs/p1/doc-${docCounter}`,
    ciphertextSha256: 'a'.repeat(64),
    size: 2048,
    contentType: 'application/fhir+json',
    ...over,
  });
}

export function patientRecord(pseudonym: string, key: Record<string, unknown> = KEY): string {
  return JSON.stringify({ pseudonym, encryptionKey: key });
}

export function grantee(kind: string, id: string): string {
  return JSON.stringify({ kind, id });
}

/** A network where p1 registered herself at A, p2 was enrolled by A's admin, and the doctors are registered. */
export async function seeded(c: Cast): Promise<TestNetwork> {
  const net = new TestNetwork();
  ok(await net.submit(c.p1, 'RegisterPatient', [patientRecord('p1')]));
  ok(await net.submit(c.adminA, 'RegisterPatient', [patientRecord('p2')]));
  ok(await net.submit(c.adminA, 'RegisterPractitioner', [JSON.stringify({ id: RYU, npi: '1234567893', encryptionKey: KEY })]));
  ok(await net.submit(c.adminB, 'RegisterPractitioner', [JSON.stringify({ id: LEE, npi: '1245319599', encryptionKey: KEY })]));
  return net;
}

/** Asserts a failed transaction whose message starts with `prefix` and contains `fragment`, without event. */
export function expectFailure(result: TxResult, prefix: 'Permission denied' | 'Not found' | 'Invalid argument', fragment = ''): void {
  expect(result.status, result.payload).toBe(500);
  expect(result.message.startsWith(`${prefix}: `), result.message).toBe(true);
  expect(result.message).toContain(fragment);
  expect(result.event).toBeUndefined();
}

export async function decision(
  net: TestNetwork,
  who: Identity,
  patient: string,
  g: string,
  right: string,
  category: string,
  at = '',
): Promise<{ allowed: boolean; reason: string; permission?: { id: string } }> {
  return ok(await net.evaluate(who, 'CheckAccess', [patient, g, right, category, at]));
}
