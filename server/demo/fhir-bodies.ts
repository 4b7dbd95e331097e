// FHIR request bodies for the seed scenario of DESIGN §7, shared by the demo seed, the tests and the benchmarks.
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';

const DAY = 86_400_000;

/** A Consent from the patient for `actor` with the given actions and data categories, for `days` from a minute ago. */
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
      code: categories.map((c) => ({ coding: [{ system: DATA_CATEGORY_SYSTEM, code: c }] })),
    },
  };
}

/** A DocumentReference for inline content or for a Binary uploaded first. */
export function documentBody(patientId: string, category: string, loinc: string, content: { data?: Buffer; binaryId?: string; contentType: string; title?: string }) {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    category: [{ coding: [{ system: DATA_CATEGORY_SYSTEM, code: category }] }],
    subject: { reference: `Patient/${patientId}` },
    content: [
      {
        attachment: {
          contentType: content.contentType,
          ...(content.title ? { title: content.title } : {}),
          ...(content.data ? { data: content.data.toString('base64') } : { url: `Binary/${content.binaryId}` }),
        },
      },
    ],
  };
}
