import crypto from 'node:crypto';
import type { ConsentryLedger } from '../ledger/consentry.js';
import type { LedgerUser } from '../ledger/identity.js';
import { FhirError, unprocessable } from '../fhir/outcome.js';
import type { ResourceStore } from '../repositories/resource-store.js';
import { npiCheckDigitValid } from './npi.js';
import type { PatientDirectory } from './patients.js';
import type { PractitionerDirectory } from './practitioner-directory.js';
import type { UserRow, Users } from './users.js';

export interface PatientEnrollment {
  username: string;
  password: string;
  given: string;
  family: string;
  birthDate: string;
  postalCode: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
}

export interface PractitionerEnrollment {
  username: string;
  password: string;
  id: string;
  given: string;
  family: string;
  npi: string;
  emergency?: boolean;
}

/**
 * An admin enrolls users of their hospital: the local FHIR resource, the account with its ledger
 * identity and keys, and the ledger record. The pseudonym is HMAC-SHA256(secret, identifying info)
 * with a fresh 256-bit secret kept by the home hospital (DESIGN §2). A practitioner is enrolled only
 * when the NPI passes the CMS check digit and the practitioner directory lists it as active; otherwise
 * nothing is written anywhere (422).
 */
export class Enrollment {
  constructor(
    private readonly users: Users,
    private readonly store: ResourceStore,
    private readonly patients: PatientDirectory,
    private readonly ledger: ConsentryLedger,
    private readonly admin: LedgerUser,
    /** undefined: no directory configured, so no practitioner can be verified (and none is enrolled) */
    private readonly directory: PractitionerDirectory | undefined,
  ) {}

  /** Throws a 422 unless the NPI passes the check digit and the directory lists it as active. */
  async verifyNpi(npi: string): Promise<void> {
    if (!npiCheckDigitValid(npi)) throw unprocessable(`NPI ${JSON.stringify(npi)} fails the CMS check digit (10 digits, Luhn with prefix 80840)`, ['npi']);
    if (!this.directory) throw new FhirError(422, 'business-rule', 'no practitioner directory is configured (PRACTITIONER_DIRECTORY), so no NPI can be verified', { expression: ['npi'] });
    let entry;
    try {
      entry = await this.directory.lookup(npi);
    } catch (err) {
      throw new FhirError(503, 'transient', `the practitioner directory could not be asked: ${err instanceof Error ? err.message : String(err)}`, { headers: { 'Retry-After': '5' } });
    }
    if (!entry) throw new FhirError(422, 'business-rule', `NPI ${npi} is not listed in the practitioner directory`, { expression: ['npi'] });
    if ((entry.status ?? 'active') !== 'active') throw new FhirError(422, 'business-rule', `NPI ${npi} is ${entry.status} in the practitioner directory`, { expression: ['npi'] });
  }

  async enrollPatient(p: PatientEnrollment): Promise<{ patientId: string; pseudonym: string; user: UserRow }> {
    const secret = crypto.randomBytes(32);
    const uii = [p.family.trim().toLowerCase(), p.given.trim().toLowerCase(), p.birthDate, p.postalCode].join('|');
    const pseudonym = crypto.createHmac('sha256', secret).update(uii).digest('hex');
    const { resource } = await this.store.put('Patient', {
      resourceType: 'Patient',
      active: true,
      name: [{ use: 'official', family: p.family, given: [p.given] }],
      gender: p.gender ?? 'unknown',
      birthDate: p.birthDate,
      address: [{ postalCode: p.postalCode }],
    });
    const patientId = resource.id!;
    await this.patients.link(patientId, pseudonym, secret.toString('base64url'));
    const user = await this.users.create({ username: p.username, password: p.password, role: 'patient', fhirUser: `Patient/${patientId}`, displayName: `${p.given} ${p.family}`, pseudonym });
    await this.ledger.registerPatient(this.admin, { pseudonym, encryptionKey: user.encryption_public_jwk as never });
    return { patientId, pseudonym, user };
  }

  async enrollPractitioner(p: PractitionerEnrollment): Promise<{ practitionerId: string; user: UserRow }> {
    await this.verifyNpi(p.npi);
    const { resource } = await this.store.put(
      'Practitioner',
      { resourceType: 'Practitioner', active: true, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: p.npi }], name: [{ family: p.family, given: [p.given], prefix: ['Dr.'] }] },
      { id: p.id },
    );
    const user = await this.users.create({ username: p.username, password: p.password, role: 'practitioner', fhirUser: `Practitioner/${resource.id}`, displayName: `Dr. ${p.given} ${p.family}`, npi: p.npi, emergency: p.emergency });
    await this.ledger.registerPractitioner(this.admin, { id: `${this.admin.mspId}/Practitioner/${resource.id}`, npi: p.npi, encryptionKey: user.encryption_public_jwk as never });
    return { practitionerId: resource.id!, user };
  }

  async enrollAdmin(username: string, password: string, displayName: string): Promise<UserRow> {
    return this.users.create({ username, password, role: 'admin', fhirUser: `Practitioner/${username}`, displayName });
  }
}
