import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditAnchor, DocumentMeta } from '../../chaincode/src/records.js';
import { verifyAuditLog } from '../../server/audit/index.js';
import { NoKeyError, unwrapDataKey } from '../../server/documents/index.js';
import { LedgerRejectedError } from '../../server/ledger/errors.js';
import { vaultContext } from '../../server/membership/key-vault.js';
import type { HospitalNode } from '../../server/node.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';
import { smartToken } from './smart-users.js';

/** Which of a hospital's private keys (its users' and its organization's, opened from its key vault) open any wrapped key stored next to a document. */
async function openersAt(node: HospitalNode, blobKey: string): Promise<string[]> {
  const users = await node.db.query<{ username: string; encryption_key_sealed: string }>('SELECT username, encryption_key_sealed FROM users');
  const own = await node.db.query<{ name: string; private_key_sealed: string }>('SELECT name, private_key_sealed FROM hospital_keys');
  const keys: { owner: string; key: JWK }[] = [];
  for (const r of users.rows) keys.push({ owner: r.username, key: await node.vault.openJwk(r.encryption_key_sealed, vaultContext.userEncryptionKey(r.username)) });
  for (const r of own.rows) keys.push({ owner: r.name, key: await node.vault.openJwk(r.private_key_sealed, vaultContext.hospitalKey(r.name)) });
  const openers: string[] = [];
  for await (const item of node.documents.blobs.list(blobKey.replace(/content$/, 'keys/'))) {
    const chunks: Buffer[] = [];
    for await (const c of await node.documents.blobs.get(item.key)) chunks.push(c as Buffer);
    for (const { owner, key } of keys) {
      try {
        (await unwrapDataKey(Buffer.concat(chunks).toString('utf8'), key, { document: blobKey })).fill(0);
        openers.push(owner);
      } catch (err) {
        if (!(err instanceof NoKeyError)) throw err;
      }
    }
  }
  return openers.sort();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * DESIGN §7 end to end, across both hospital nodes of the demo network (one embedded peer, two FHIR APIs), every
 * call with a token from the hospital's own SMART authorization server (login, consent page, code exchange).
 */
describe('the seed scenario: a patient moves from Hospital A to Hospital B', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  const tokens: Record<'ryu' | 'mara' | 'lee', string> = { ryu: '', mara: '', lee: '' };
  const uploaded: Record<string, { id: string; bytes: Buffer; meta: DocumentMeta }> = {};
  let leeConsent: string;

  const inSync = async () => {
    await net.b.ledger.client.projection.waitForBlock(net.a.ledger.client.projection.height() - 1);
    await net.a.ledger.client.projection.waitForBlock(net.b.ledger.client.projection.height() - 1);
  };
  const atA = (token: string, method: string, path: string, body?: unknown) => fhir(net.a.baseUrl, token, method, path, body);
  const atB = (method: string, path: string) => fhir(net.b.baseUrl, tokens.lee, method, path);
  const download = (node: HospitalNode, token: string, id: string) => fetch(`${node.baseUrl}/Binary/${id}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    tokens.ryu = await smartToken(net.a, 'ryu', 'pw-ryu', 'openid fhirUser user/DocumentReference.cruds user/Binary.cruds user/Patient.rs');
    tokens.mara = await smartToken(net.a, 'mara', 'pw-mara', 'openid fhirUser user/Consent.cruds user/AuditEvent.rs user/Patient.rs');
    tokens.lee = await smartToken(net.b, 'lee', 'pw-lee', 'openid fhirUser user/Patient.rs user/DocumentReference.rs user/Binary.rs user/Consent.rs');
    // Dr. Ryu treats her at A: she gave him read and write on what he records
    const ryu = await atA(tokens.mara, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose'], ['access', 'correct']));
    expect(ryu.status, ryu.text).toBe(201);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('Dr. Ryu uploads the history and physical, the lab results and the dose report at A', async () => {
    const upload = async (category: string, loinc: string, bytes: Buffer, contentType: string, viaBinary: boolean) => {
      let body;
      if (viaBinary) {
        const res = await fetch(`${net.a.baseUrl}/Binary`, { method: 'POST', headers: { authorization: `Bearer ${tokens.ryu}`, 'content-type': contentType }, body: bytes });
        expect(res.status).toBe(201);
        body = documentBody(people.patientId, category, loinc, { binaryId: ((await res.json()) as { id: string }).id, contentType });
      } else {
        body = documentBody(people.patientId, category, loinc, { data: bytes, contentType });
      }
      const res = await atA(tokens.ryu, 'POST', 'DocumentReference', body);
      expect(res.status, res.text).toBe(201);
      const meta = (await net.a.db.query<{ record: DocumentMeta }>('SELECT record FROM ledger_documents WHERE id = $1', [res.body!.id])).rows[0].record;
      uploaded[category] = { id: res.body!.id, bytes, meta };
    };
    await upload('history-physical', '34117-2', Buffer.from('%PDF-1.4\n% history and physical exam of Mara Okafor\n%%EOF\n'), 'application/pdf', false);
    const labs = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, valueQuantity: { value: 11.2, unit: 'g/dL' } } }] };
    await upload('lab-results', '11502-2', Buffer.from(JSON.stringify(labs)), 'application/fhir+json', false);
    await upload('radiation-dose', '73569-6', Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(3 * 1024 * 1024)]), 'application/pdf', true);
  });

  it('the patient at A grants Dr. Lee of B read on lab results and radiation doses for 90 days', async () => {
    const grant = await atA(tokens.mara, 'POST', 'Consent', consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results', 'radiation-dose'], ['access'], 90));
    expect(grant.status, grant.text).toBe(201);
    leeConsent = grant.body!.id;
    const days = (Date.parse(grant.body!.provision.period.end) - Date.parse(grant.body!.provision.period.start)) / 86_400_000;
    expect(Math.round(days)).toBe(90);
    expect(grant.body!.provision.code.map((c: { coding: { code: string }[] }) => c.coding[0].code).sort()).toEqual(['lab-results', 'radiation-dose']);
  });

  it('Dr. Lee at B finds her, lists and downloads both reports byte-identical, and never sees the history and physical', async () => {
    await inSync();
    const patients = await atB('GET', 'Patient');
    expect(patients.status, patients.text).toBe(200);
    expect(patients.body!.total).toBe(1);
    expect(patients.body!.entry[0].resource.name[0].family).toBe('Okafor');
    const listed = await atB('GET', `DocumentReference?patient=${people.pseudonym}`);
    expect(listed.body!.total).toBe(2);
    expect(listed.body!.entry.map((e: { resource: { id: string } }) => e.resource.id).sort()).toEqual([uploaded['lab-results'].id, uploaded['radiation-dose'].id].sort());
    for (const category of ['lab-results', 'radiation-dose']) {
      const res = await download(net.b, tokens.lee, uploaded[category].id);
      expect(res.status, category).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(uploaded[category].bytes), category).toBe(true);
    }
    const hp = uploaded['history-physical'];
    expect((await atB('GET', `DocumentReference/${hp.id}`)).status).toBe(404);
    expect((await download(net.b, tokens.lee, hp.id)).status).toBe(404);
    expect(await openersAt(net.b, hp.meta.blob)).toEqual([]);
  });

  it("the patient's history at A shows the grant and Dr. Lee's reads, which Hospital B logged and anchored on the ledger", async () => {
    const lee = `${net.b.baseUrl}/Practitioner/lee`;
    const history = await until("Dr. Lee's downloads in the patient's history", async () => {
      const res = await atA(tokens.mara, 'GET', `AuditEvent?patient=Patient/${people.patientId}&_sort=date&_count=100`);
      expect(res.status, res.text).toBe(200);
      const events = res.body!.entry.map((e: { resource: Record<string, any> }) => e.resource); // eslint-disable-line @typescript-eslint/no-explicit-any
      const downloads = events.filter((e: any) => e.agent[0].who?.reference === lee && e.subtype.some((s: { code: string }) => s.code === 'download')); // eslint-disable-line @typescript-eslint/no-explicit-any
      return downloads.length >= 2 ? events : undefined;
    });
    const granted = history.find((e: any) => e.subtype.some((s: { code: string }) => s.code === 'PermissionGranted') && e.entity?.some((x: { what: { reference: string } }) => x.what.reference === `Consent/${leeConsent}`)); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(granted, 'the grant to Dr. Lee').toBeDefined();
    const reads = history.filter((e: any) => e.agent[0].who?.reference === lee); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const read of reads) {
      expect(read.source.site).toBe('HospitalBMSP');
      expect(read.purposeOfEvent[0].coding[0].code).toBe('TREAT');
      expect(Date.parse(read.recorded)).toBeGreaterThanOrEqual(Date.parse(granted.recorded));
    }
    const downloaded = reads.filter((e: any) => e.subtype.some((s: { code: string }) => s.code === 'download')).map((e: any) => e.entity.find((x: { what: { reference: string } }) => x.what.reference.startsWith('Binary/')).what.reference); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(downloaded.sort()).toEqual([`Binary/${uploaded['lab-results'].id}`, `Binary/${uploaded['radiation-dose'].id}`].sort());
    // one chronological history: the grant, Ryu's uploads and Lee's reads in time order
    const times = history.map((e: { recorded: string }) => Date.parse(e.recorded));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(history.filter((e: any) => e.subtype.some((s: { code: string }) => s.code === 'DocumentAdded')).length).toBe(3); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  it('every read B logged is in a root B anchored on the ledger', async () => {
    await net.b.audit.anchoring.anchorAll().catch(() => undefined); // the background task may hold the next sequence
    const anchorOf = async (sequence: number) => {
      try {
        return JSON.parse(Buffer.from(await net.b.ledger.client.transactions.evaluate(net.b.ledger.embedded!.adminOf('HospitalBMSP'), 'GetAuditAnchor', ['HospitalBMSP', String(sequence)])).toString('utf8')) as AuditAnchor;
      } catch (err) {
        if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
        throw err;
      }
    };
    const result = await until('B to anchor its log', async () => {
      const r = await verifyAuditLog(net.b.db, anchorOf);
      return r.pendingRows === 0 ? r : undefined;
    });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.anchoredRows).toBeGreaterThanOrEqual(4);
  });

  it("after the patient revokes, Dr. Lee's next request is denied and B holds no key that opens the documents", async () => {
    const revoked = await atA(tokens.mara, 'DELETE', `Consent/${leeConsent}`);
    expect(revoked.status, revoked.text).toBe(200);
    await inSync();
    for (const category of ['lab-results', 'radiation-dose']) {
      expect((await download(net.b, tokens.lee, uploaded[category].id)).status, category).toBe(404);
      expect(await openersAt(net.b, uploaded[category].meta.blob), category).toEqual([]);
    }
    expect((await atB('GET', `DocumentReference?patient=${people.pseudonym}`)).body!.total).toBe(0);
    expect((await atB('GET', 'Patient')).body!.total).toBe(0);
    const history = await atA(tokens.mara, 'GET', `AuditEvent?patient=Patient/${people.patientId}&subtype=PermissionRevoked`);
    expect(history.body!.total).toBe(1);
  });
});
