import crypto from 'node:crypto';
import type { ConsentryLedger } from '../ledger/consentry.js';
import type { LedgerUser } from '../ledger/identity.js';
import type { ResourceStore } from '../repositories/resource-store.js';
import type { PatientDirectory } from './patients.js';
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
 * with a fresh 256-bit secret kept by the home hospital (DESIGN §2).
 */
export class Enrollment {
  constructor(
    private readonly users: Users,
    private readonly store: ResourceStore,
    private readonly patients: PatientDirectory,
    private readonly ledger: ConsentryLedger,
    private readonly admin: LedgerUser,
  ) {}

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
