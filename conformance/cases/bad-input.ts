import type { FhirUser, RawAnswer } from '../support/client.js';
import { consentBody, documentBody } from '../../test/support/seed-scenario.js';

export interface BadInputCase {
  name: string;
  /** the exact status when it is fixed by the protocol; otherwise any 4xx */
  status?: number;
  send(): Promise<RawAnswer>;
}

const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const MB = 1024 * 1024;

/** 20 MB sent chunked, without a Content-Length the server could refuse up front. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = Buffer.from(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + MB));
      at += MB;
    },
  });
}

/**
 * The hostile and broken requests of the acceptance list: each must be answered with a 4xx OperationOutcome
 * while the server stays healthy and the ledger unchanged. `patient` writes Consents, `ryu` documents.
 */
export function badInputCases(users: { patient: FhirUser; ryu: FhirUser }, patientId: string): BadInputCase[] {
  const { patient, ryu } = users;
  const consent = () => consentBody(patientId, 'Practitioner/ryu', ['imaging']);
  const doc = () => documentBody(patientId, 'lab-results', '11502-2', { data: Buffer.from('probe'), contentType: 'text/plain' });
  const postConsent = (body: string | ReadableStream, headers: Record<string, string> = FHIR_JSON) => patient.raw('POST', 'Consent', { body, headers });
  const postDoc = (body: unknown) => ryu.raw('POST', 'DocumentReference', { body: JSON.stringify(body), headers: FHIR_JSON });
  const consentJson = (change: (c: ReturnType<typeof consent>) => unknown) => JSON.stringify(change(consent()));
  const huge = `{"resourceType":"Consent","status":"active","note":"${'x'.repeat(20 * MB)}"}`;
  const deepArrays = `{"resourceType":"Consent","contained":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  const deepObjects = `{"resourceType":"Consent","provision":${'{"provision":'.repeat(10_000)}{}${'}'.repeat(10_000)}}`;
  return [
    { name: 'malformed JSON', status: 400, send: () => postConsent('{"resourceType": "Consent", "status": ') },
    { name: 'invalid UTF-8', status: 400, send: () => patient.raw('POST', 'Consent', { body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: FHIR_JSON }) },
    { name: 'a JSON array, not a resource', status: 400, send: () => postConsent('[{"resourceType":"Consent"}]') },
    { name: 'wrong resourceType for the URL', status: 400, send: () => postConsent(JSON.stringify({ resourceType: 'Patient', name: [{ family: 'X' }] })) },
    { name: 'an unknown resourceType', status: 400, send: () => postConsent(JSON.stringify({ resourceType: 'Conformance' })) },
    { name: 'an unknown element', status: 400, send: () => postConsent(consentJson((c) => ({ ...c, colour: 'blue' }))) },
    { name: 'an unknown nested element', status: 400, send: () => postConsent(consentJson((c) => ({ ...c, provision: { ...c.provision, colour: 'blue' } }))) },
    { name: 'a duplicate key', status: 400, send: () => postConsent('{"resourceType":"Consent","status":"active","status":"draft"}') },
    { name: 'broken reference: Consent.patient does not exist', status: 422, send: () => postConsent(consentJson((c) => ({ ...c, patient: { reference: 'Patient/does-not-exist' } }))) },
    { name: 'broken reference: Consent.provision.actor does not exist', status: 422, send: () => postConsent(JSON.stringify(consentBody(patientId, 'Practitioner/does-not-exist', ['imaging']))) },
    { name: 'broken reference: DocumentReference.subject does not exist', status: 422, send: () => postDoc({ ...doc(), subject: { reference: 'Patient/does-not-exist' } }) },
    { name: 'broken reference: attachment.url names no Binary', status: 422, send: () => postDoc(documentBody(patientId, 'lab-results', '11502-2', { binaryId: 'does-not-exist', contentType: 'text/plain' })) },
    { name: '20 MB JSON body with Content-Length', status: 413, send: () => postConsent(huge) },
    { name: '20 MB JSON body, chunked', status: 413, send: () => postConsent(chunked(huge)) },
    { name: '10,000-deep nested arrays', status: 400, send: () => postConsent(deepArrays) },
    { name: '10,000-deep nested objects', status: 400, send: () => postConsent(deepObjects) },
    { name: '__proto__ key', status: 400, send: () => postConsent('{"resourceType":"Consent","__proto__":{"isAdmin":true}}') },
    { name: '__proto__ key, nested and escaped', status: 400, send: () => postConsent(`{"resourceType":"Consent","provision":{"\\u005f_proto__":{"type":"deny"}}}`) },
    { name: 'constructor key', status: 400, send: () => postConsent('{"resourceType":"Consent","constructor":{"prototype":{}}}') },
    { name: 'invalid date: 2025-02-30', status: 400, send: () => postConsent(consentJson((c) => ({ ...c, dateTime: '2025-02-30' }))) },
    { name: 'invalid date: month 13 in a period', status: 400, send: () => postConsent(consentJson((c) => ({ ...c, provision: { ...c.provision, period: { start: '2025-13-01T00:00:00Z', end: '2026-01-01T00:00:00Z' } } }))) },
    { name: 'invalid date: DocumentReference.date 2025-02-30', status: 400, send: () => postDoc({ ...doc(), date: '2025-02-30T10:00:00Z' }) },
    { name: 'invalid date in a search: date=2025-02-30', status: 400, send: () => patient.raw('GET', 'Consent?date=2025-02-30') },
    { name: 'unknown search parameter under handling=strict (Consent)', status: 400, send: () => patient.raw('GET', 'Consent?colour=blue', { headers: { prefer: 'handling=strict' } }) },
    { name: 'unknown search parameter under handling=strict (DocumentReference)', status: 400, send: () => ryu.raw('GET', 'DocumentReference?colour=blue', { headers: { prefer: 'handling=strict' } }) },
    { name: '_summary (not implemented) under handling=strict', status: 400, send: () => patient.raw('GET', 'Consent?_summary=count', { headers: { prefer: 'handling=strict' } }) },
    { name: 'unknown modifier under handling=strict', status: 400, send: () => patient.raw('GET', 'Consent?status:above=active', { headers: { prefer: 'handling=strict' } }) },
    { name: 'a negative _count', status: 400, send: () => patient.raw('GET', 'Consent?_count=-1') },
    { name: 'an id that is no FHIR id', status: 400, send: () => patient.raw('GET', `Consent/${'x'.repeat(65)}`) },
    { name: 'a non-JSON Content-Type', status: 415, send: () => postConsent(JSON.stringify(consent()), { 'content-type': 'text/plain' }) },
    { name: 'an empty body', status: 400, send: () => postConsent('') },
  ];
}
