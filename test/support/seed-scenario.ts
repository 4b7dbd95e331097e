import type { TestNetwork } from './network.js';

const DAY = 86_400_000;

export const CATEGORY_SYSTEM = 'http://consentry.example/fhir/CodeSystem/data-category';

/** A FHIR Consent from the patient for `actor` with the given actions and data categories. */
export function consentBody(patientId: string, actor: string, categories: string[], actions: ('access' | 'correct')[] = ['access'], days = 90) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + days * DAY).toISOString() },
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }],
      action: actions.map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] })),
      code: categories.map((c) => ({ coding: [{ system: CATEGORY_SYSTEM, code: c }] })),
    },
  };
}

/** A DocumentReference for inline content or a Binary uploaded first. */
export function documentBody(patientId: string, category: string, loinc: string, content: { data?: Buffer; binaryId?: string; contentType: string }) {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category }] }],
    subject: { reference: `Patient/${patientId}` },
    content: [{ attachment: { contentType: content.contentType, ...(content.data ? { data: content.data.toString('base64') } : { url: `Binary/${content.binaryId}` }) } }],
  };
}

/** The people of DESIGN §7 on a test network: the patient at A, Dr. Ryu at A, Dr. Lee at B, an unrelated doctor at A. */
export async function enrollSeedPeople(net: TestNetwork) {
  const patient = await net.a.enrollment.enrollPatient({ username: 'mara', password: 'pw-mara', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' });
  await net.a.enrollment.enrollPractitioner({ username: 'ryu', password: 'pw-ryu', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893' });
  await net.a.enrollment.enrollPractitioner({ username: 'park', password: 'pw-park', id: 'park', given: 'Ann', family: 'Park', npi: '1245319599' });
  await net.b.enrollment.enrollPractitioner({ username: 'lee', password: 'pw-lee', id: 'lee', given: 'Min', family: 'Lee', npi: '1679576722' });
  return {
    patientId: patient.patientId,
    pseudonym: patient.pseudonym,
    tokens: {
      patient: await net.a.tokenFor('mara'),
      ryu: await net.a.tokenFor('ryu'),
      park: await net.a.tokenFor('park'),
      lee: await net.b.tokenFor('lee'),
    },
  };
}
