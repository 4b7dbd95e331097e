// The benchmark's own corner of the ledger, created through the FHIR API: one patient, the practitioner whose
// reads are measured, and ten documents. Kept in <data dir>/bench.json so a kept ledger can be measured again.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildHandle } from './ipc.js';

const CATEGORY_SYSTEM = 'http://consentry.example/fhir/CodeSystem/data-category';
const DOCUMENTS = 10;
/** the permitted practitioner whose reads are measured (not the documents' author: a permission decides) */
export const READER = 'kim';

export interface Scenario {
  patientId: string;
  documentId: string;
  readPath: string;
  searchPath: string;
}

export async function fhir(base: string, token: string, method: string, p: string, body?: unknown): Promise<string> {
  const res = await fetch(`${base}/${p}`, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...(body ? { 'content-type': 'application/fhir+json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}

function consent(patientId: string, actor: string, categories: string[], actions: string[]) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 365 * 86_400_000).toISOString() },
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }],
      action: actions.map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] })),
      code: categories.map((code) => ({ coding: [{ system: CATEGORY_SYSTEM, code }] })),
    },
  };
}

function paths(patientId: string, documentId: string): Scenario {
  return { patientId, documentId, readPath: `/fhir/DocumentReference/${documentId}`, searchPath: `/fhir/DocumentReference?patient=${patientId}` };
}

/**
 * The patient trusts Dr. Ryu (who writes her records) with everything shareable, Dr. Kim (the reader) with her
 * labs and imaging, and Dr. Park with imaging only; Dr. Ryu then adds ten lab reports in one transaction.
 */
export async function createScenario(server: ChildHandle, baseUrl: string, dataDir: string): Promise<Scenario> {
  const people = await server.request<{ patientId: string }>('enroll', { practitioners: ['ryu', 'park', READER] });
  const patientToken = await server.request<string>('token', { username: 'bench-patient' });
  const ryuToken = await server.request<string>('token', { username: 'ryu' });
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'], ['access', 'correct']));
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, `Practitioner/${READER}`, ['lab-results', 'imaging'], ['access']));
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, 'Practitioner/park', ['imaging'], ['access']));
  const entry = Array.from({ length: DOCUMENTS }, (_, i) => ({
    resource: {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'lab-results' }] }],
      subject: { reference: `Patient/${people.patientId}` },
      content: [{ attachment: { contentType: 'application/fhir+json', data: Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', id: `labs-${i}` })).toString('base64') } }],
    },
    request: { method: 'POST', url: 'DocumentReference' },
  }));
  const tx = JSON.parse(await fhir(baseUrl, ryuToken, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry })) as { entry: { resource: { id: string } }[] };
  const scenario = paths(people.patientId, tx.entry[0].resource.id);
  fs.writeFileSync(path.join(dataDir, 'bench.json'), JSON.stringify({ patientId: scenario.patientId, documentId: scenario.documentId }));
  return scenario;
}

/** The scenario of a kept data dir, if it has one. */
export function keptScenario(dataDir: string): Scenario | undefined {
  const file = path.join(dataDir, 'bench.json');
  if (!fs.existsSync(file)) return undefined;
  const { patientId, documentId } = JSON.parse(fs.readFileSync(file, 'utf8')) as { patientId: string; documentId: string };
  return paths(patientId, documentId);
}
