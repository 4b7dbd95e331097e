import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sweepOrphanBlobs } from '../../server/repositories/orphan-sweep.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, fhir, startTestNetwork, writesSince, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';

describe.each(BACKENDS)('seed scenario, first half, through FHIR only (%s)', (backend) => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  const docs: Record<string, { id: string; bytes: Buffer }> = {};

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    people = await enrollSeedPeople(net);
    // the treating oncologist may write the patient's oncology records
    const write = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose'], ['access', 'correct']));
    expect(write.status, write.text).toBe(201);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('Dr. Ryu uploads three documents (one streamed as a Binary first) and the patient lists them', async () => {
    const dose = crypto.randomBytes(3 * 1024 * 1024 + 17);
    const upload = await fetch(`${net.a.baseUrl}/Binary`, { method: 'POST', headers: { authorization: `Bearer ${people.tokens.ryu}`, 'content-type': 'application/pdf' }, body: dose });
    expect(upload.status).toBe(201);
    const binary = (await upload.json()) as { id: string };
    const specs: [string, string, Buffer, string, boolean][] = [
      ['history-physical', '34117-2', Buffer.from('%PDF-1.4 history and physical'), 'application/pdf', false],
      ['lab-results', '11502-2', Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection' })), 'application/fhir+json', false],
      ['radiation-dose', '73569-6', dose, 'application/pdf', true],
    ];
    for (const [category, loinc, bytes, contentType, viaBinary] of specs) {
      const body = documentBody(people.patientId, category, loinc, viaBinary ? { binaryId: binary.id, contentType } : { data: bytes, contentType });
      const res = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', body);
      expect(res.status, res.text).toBe(201);
      expect(res.body!.content[0].attachment.url).toMatch(/Binary\//);
      docs[category] = { id: res.body!.id, bytes };
    }
    const listed = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `DocumentReference?subject=Patient/${people.patientId}&_sort=date`);
    expect(listed.body!.total).toBe(3);
    const download = await fetch(`${net.a.baseUrl}/Binary/${docs['radiation-dose'].id}`, { headers: { authorization: `Bearer ${people.tokens.patient}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(dose)).toBe(true);
  });

  it('a practitioner without permission: 404 like a missing id, and an empty search that betrays nothing', async () => {
    const missing = await fhir(net.a.baseUrl, people.tokens.park, 'GET', 'DocumentReference/00000000-0000-0000-0000-000000000000');
    for (const { id } of Object.values(docs)) {
      const res = await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference/${id}`);
      expect(res.status).toBe(404);
      expect(res.body!.issue[0].code).toBe(missing.body!.issue[0].code);
      expect((await fetch(`${net.a.baseUrl}/Binary/${id}`, { headers: { authorization: `Bearer ${people.tokens.park}` } })).status).toBe(404);
    }
    const search = await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference?subject=Patient/${people.patientId}`);
    expect(search.body).toMatchObject({ total: 0, entry: [] });
    const included = await fhir(net.a.baseUrl, people.tokens.park, 'GET', `Consent?patient=Patient/${people.patientId}&_include=Consent:patient`);
    expect(included.body!.total).toBe(0);
  });

  it('a Consent for one category makes exactly that category readable; revoking closes it at the next request', async () => {
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/park', ['lab-results']));
    expect(grant.status).toBe(201);
    const search = await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference?subject=Patient/${people.patientId}`);
    expect(search.body!.total).toBe(1);
    expect(search.body!.entry[0].resource.id).toBe(docs['lab-results'].id);
    const bytes = await fetch(`${net.a.baseUrl}/Binary/${docs['lab-results'].id}`, { headers: { authorization: `Bearer ${people.tokens.park}` } });
    expect(bytes.status).toBe(200);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(docs['lab-results'].bytes)).toBe(true);
    expect((await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference/${docs['history-physical'].id}`)).status).toBe(404);

    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${grant.body!.id}`)).status).toBe(200);
    expect((await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference/${docs['lab-results'].id}`)).status).toBe(404);
    expect((await fhir(net.a.baseUrl, people.tokens.park, 'GET', `DocumentReference?subject=Patient/${people.patientId}`)).body!.total).toBe(0);
  });

  it('a ledger write that fails leaves no blob behind, and the sweep removes what a crash left', async () => {
    const blobRoot = path.join(net.dataDir, 'blobs');
    const contents = () => fs.readdirSync(blobRoot, { recursive: true }).map(String).filter((f) => f.endsWith('content')).sort();
    const lab = (text: string, replaces?: string) => ({
      ...documentBody(people.patientId, 'lab-results', '11502-2', { data: Buffer.from(text), contentType: 'text/plain' }),
      ...(replaces ? { relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${replaces}` } }] } : {}),
    });
    const first = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', lab('v1'));
    expect((await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', lab('v2', first.body!.id))).status).toBe(201);
    const before = contents();
    // passes the server's checks, refused by the chaincode (v1 is superseded already) after the blob was stored
    const res = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', lab('orphan?', first.body!.id));
    expect(res.status, res.text).toBe(422);
    expect(res.body!.issue[0].diagnostics).toMatch(/superseded, not current/);
    expect(contents()).toEqual(before);
    // a replaced document that does not exist, or an author other than the caller: refused before anything is stored
    const height = Number(res.headers.get('x-ledger-height'));
    const missing = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', lab('x', 'does-not-exist'));
    expect(missing.status).toBe(422);
    expect(missing.body!.issue[0].expression).toEqual(['DocumentReference.relatesTo[0].target']);
    const ghost = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', { ...lab('x'), author: [{ reference: 'Practitioner/park' }] });
    expect(ghost.status).toBe(422);
    expect(ghost.body!.issue[0].expression).toEqual(['DocumentReference.author']);
    expect(contents()).toEqual(before);
    expect(await writesSince(net, height)).toBe(0); // the read log's anchors may commit meanwhile; nothing else

    // a crash between blob and ledger write: the blob exists, no ledger document references it
    const crashed = await net.a.documents.storeDocument({ patient: people.pseudonym, documentId: 'crashed-upload', content: Readable.from([Buffer.from('left behind')]), recipients: [{ id: people.pseudonym, publicJwk: (await net.a.users.find('mara'))!.encryption_public_jwk }] });
    const swept = await sweepOrphanBlobs(net.a.db, net.a.documents, 0);
    expect(swept.removed).toEqual([crashed.blobKey]);
    expect(contents()).toEqual(before);
    const labs = await fetch(`${net.a.baseUrl}/Binary/${docs['lab-results'].id}`, { headers: { authorization: `Bearer ${people.tokens.patient}` } });
    expect(labs.status).toBe(200);
  });

  it('one byte flipped in a stored blob: Binary answers a 5xx OperationOutcome about integrity, never the bytes', async () => {
    const { id } = docs['history-physical'];
    const blobRoot = path.join(net.dataDir, 'blobs');
    const files = fs.readdirSync(blobRoot, { recursive: true }).map(String).filter((f) => f.includes(id) && f.endsWith('content'));
    expect(files).toHaveLength(1);
    const file = path.join(blobRoot, files[0]);
    const data = fs.readFileSync(file);
    data[data.length - 5] ^= 0x01;
    fs.writeFileSync(file, data);
    const res = await fetch(`${net.a.baseUrl}/Binary/${id}`, { headers: { authorization: `Bearer ${people.tokens.patient}` } });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = (await res.json()) as { resourceType: string; issue: { diagnostics: string }[] };
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0].diagnostics).toMatch(/integrity/);
  });
});
