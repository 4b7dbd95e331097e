import type { HospitalNode } from '../node.js';
import { DEMO_ACCOUNTS } from './accounts.js';
import { oncologyDocuments } from './documents.js';
import { consentBody, documentBody } from './fhir-bodies.js';

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
  await post(a, maraToken, 'Consent', consentBody(patients.mara, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'], ['access', 'correct'], 365));
  const reports = oncologyDocuments({ name: `${mara.given} ${mara.family}`, birthDate: mara.birthDate }, 'Dr. Jun Ryu');
  for (const doc of reports) {
    await post(a, ryuToken, 'DocumentReference', documentBody(patients.mara, doc.category, doc.loinc, { contentType: doc.contentType, data: doc.content, title: doc.title }));
  }
  await post(a, maraToken, 'DocumentReference', documentBody(patients.mara, 'patient-private', '51855-5', { contentType: 'text/plain', data: Buffer.from('Questions for my next visit: fatigue, skin care, when can I swim again?'), title: 'My notes' }));
  log(`seeded the demo network: ${Object.keys(patients).length} patients at Hospital A, Dr. Ryu's ${reports.length} reports for Mara`);
  return true;
}

async function post(node: HospitalNode, token: string, type: string, body: unknown): Promise<void> {
  const res = await fetch(`${node.baseUrl}/${type}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`seeding ${type} failed: ${res.status} ${await res.text()}`);
}
