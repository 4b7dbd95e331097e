import type { HospitalNode } from '../node.js';
import { DEMO_ACCOUNTS } from './accounts.js';
import { oncologyDocuments } from './documents.js';

const CATEGORY_SYSTEM = 'http://consentry.example/fhir/CodeSystem/data-category';
const DAY = 86_400_000;

/** Seeds the demo network once (a restart keeps everything): people, Mara's grant to Dr. Ryu, and her records. */
export async function seedDemo(a: HospitalNode, b: HospitalNode, log: (m: string) => void): Promise<boolean> {
  if (await a.users.find('admin-a')) return false;
  // each hospital knows both organizations, so grants to an organization resolve to a local resource
  for (const node of [a, b]) {
    await node.store.put('Organization', { resourceType: 'Organization', active: true, identifier: [{ system: 'urn:consentry:msp', value: 'HospitalAMSP' }], name: 'Hospital A (radiation oncology)' }, { id: 'HospitalAMSP' });
    await node.store.put('Organization', { resourceType: 'Organization', active: true, identifier: [{ system: 'urn:consentry:msp', value: 'HospitalBMSP' }], name: 'Hospital B' }, { id: 'HospitalBMSP' });
  }
  for (const [node, accounts] of [[a, DEMO_ACCOUNTS.HospitalAMSP], [b, DEMO_ACCOUNTS.HospitalBMSP]] as const) {
    for (const admin of accounts.admins) await node.enrollment.enrollAdmin(admin.username, admin.password, admin.displayName);
    for (const p of accounts.practitioners) await node.enrollment.enrollPractitioner({ ...p, emergency: 'emergency' in p ? p.emergency : false });
  }
  const patients: Record<string, string> = {};
  for (const p of DEMO_ACCOUNTS.HospitalAMSP.patients) patients[p.username] = (await a.enrollment.enrollPatient(p)).patientId;

  const mara = DEMO_ACCOUNTS.HospitalAMSP.patients[0];
  const maraToken = await a.tokenFor(mara.username);
  const ryuToken = await a.tokenFor('dr.ryu');
  const now = Date.now();
  await post(a, maraToken, 'Consent', {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patients.mara}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: new Date(now - DAY).toISOString(), end: new Date(now + 365 * DAY).toISOString() },
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/ryu' } }],
      action: ['access', 'correct'].map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] })),
      code: ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'].map((code) => ({ coding: [{ system: CATEGORY_SYSTEM, code }] })),
    },
  });
  for (const doc of oncologyDocuments({ name: `${mara.given} ${mara.family}`, birthDate: mara.birthDate }, 'Dr. Jun Ryu')) {
    await post(a, ryuToken, 'DocumentReference', documentReference(patients.mara, doc.category, doc.loinc, doc.contentType, doc.content, doc.title));
  }
  await post(a, maraToken, 'DocumentReference', documentReference(patients.mara, 'patient-private', '51855-5', 'text/plain', Buffer.from('Questions for my next visit: fatigue, skin care, when can I swim again?'), 'My notes'));
  log(`seeded the demo network: ${Object.keys(patients).length} patients at Hospital A, Dr. Ryu's ${5} reports for Mara`);
  return true;
}

function documentReference(patientId: string, category: string, loinc: string, contentType: string, content: Buffer, title: string) {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category }] }],
    subject: { reference: `Patient/${patientId}` },
    content: [{ attachment: { contentType, data: content.toString('base64'), title } }],
  };
}

async function post(node: HospitalNode, token: string, type: string, body: unknown): Promise<void> {
  const res = await fetch(`${node.baseUrl}/${type}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`seeding ${type} failed: ${res.status} ${await res.text()}`);
}
