// Shared test data: the seed scenario of DESIGN §7 as ledger records and as client-side FHIR bodies.
import type { DocumentMeta, Grantee, Permission } from '../../chaincode/src/records.js';
import type { ConsentToPermissionContext, DocumentReferenceToInputContext } from '../../server/fhir/mapping/index.js';

export const PSEUDONYM = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
export const NOW = new Date('2025-01-10T00:00:00.000Z');
export const TX = '8d3c6f0e2b1a4c5d9e7f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5';

export const GRANTEES: Record<string, Grantee> = {
  'Practitioner/lee': { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' },
  'Organization/HospitalBMSP': { kind: 'organization', id: 'HospitalBMSP' },
  'Device/patient-app': { kind: 'client', id: 'patient-app' },
  'Group/study-42': { kind: 'study', id: 'study-42' },
};

export const consentCtx: ConsentToPermissionContext = {
  resolvePatient: (ref) => (ref === 'Patient/seed-patient' ? PSEUDONYM : undefined),
  resolveGrantee: (ref) => GRANTEES[ref],
  now: NOW,
};

export const documentCtx: DocumentReferenceToInputContext = {
  resolvePatient: consentCtx.resolvePatient,
  baseUrl: 'http://localhost:8080/fhir',
};

export function leePermission(overrides: Partial<Permission> = {}): Permission {
  return {
    id: 'seed-lee-labs-dose',
    patient: PSEUDONYM,
    grantee: GRANTEES['Practitioner/lee'],
    rights: ['read'],
    categories: ['lab-results', 'radiation-dose'],
    from: '2025-01-06T09:00:00.000Z',
    to: '2025-04-06T09:00:00.000Z',
    purpose: 'TREAT',
    grantedBy: PSEUDONYM,
    timestamp: '2025-01-06T09:00:00.000Z',
    status: 'active',
    version: 1,
    ...overrides,
  };
}

export function toConsentCtx(granteeReference = 'Practitioner/lee', now = NOW) {
  return { patientId: 'seed-patient', versionId: '1', lastUpdated: '2025-01-06T09:00:00.000Z', txId: TX, blockNumber: 42, granteeReference, now };
}

export function doseReportMeta(overrides: Partial<DocumentMeta> = {}): DocumentMeta {
  return {
    id: 'seed-dose-report',
    patient: PSEUDONYM,
    category: 'radiation-dose',
    type: '73569-6',
    author: 'HospitalAMSP/Practitioner/ryu',
    authorMsp: 'HospitalAMSP',
    blob: 'HospitalAMSP/seed-dose-report',
    ciphertextSha256: '5f2b8c1d9e0a47f3b6c2d8e1f0a9b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0',
    size: 48213,
    contentType: 'application/pdf',
    createdAt: '2025-01-03T14:20:00.000Z',
    status: 'current',
    ...overrides,
  };
}

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a patient app POSTs to grant Dr. Lee read on labs and doses for 90 days. */
export function clientConsent(): Body {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/seed-patient' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: '2025-01-06T09:00:00Z', end: '2025-04-06T09:00:00Z' },
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          reference: { reference: 'Practitioner/lee' },
        },
      ],
      action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
      code: [
        { coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'lab-results' }] },
        { coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'radiation-dose' }] },
      ],
    },
  };
}

/** What Dr. Ryu's client POSTs to add a small dose report inline. */
export function clientDocumentReference(): Body {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '73569-6' }] },
    category: [{ coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'radiation-dose' }] }],
    subject: { reference: 'Patient/seed-patient' },
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('dose: 60 Gy in 30 fractions').toString('base64') } }],
  };
}
