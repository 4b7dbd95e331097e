// The benchmark's own corner of the ledger, created through the FHIR API: one patient, the practitioner whose
// reads are measured, and ten documents. Kept in <data dir>/bench.json so a kept ledger can be measured again.
import fs from 'node:fs';
import path from 'node:path';
import { consentBody, documentBody } from '../../server/demo/fhir-bodies.js';
import type { ChildHandle } from './ipc.js';

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
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'], ['access', 'correct']));
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consentBody(people.patientId, `Practitioner/${READER}`, ['lab-results', 'imaging'], ['access']));
  await fhir(baseUrl, patientToken, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/park', ['imaging'], ['access']));
  const entry = Array.from({ length: DOCUMENTS }, (_, i) => ({
    resource: documentBody(people.patientId, 'lab-results', '11502-2', { contentType: 'application/fhir+json', data: Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', id: `labs-${i}` })) }),
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
