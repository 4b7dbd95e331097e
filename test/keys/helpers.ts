import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { expect } from 'vitest';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import type { HospitalNode } from '../../server/node.js';
import { KeyHolders } from '../../server/repositories/key-holders.js';
import { fhir, type TestNetwork } from '../support/network.js';
import { consentBody, enrollSeedPeople, uploadAsRyu } from '../support/seed-scenario.js';

export type People = Awaited<ReturnType<typeof enrollSeedPeople>> & { tokens: { adminA: string } };

export interface Uploaded {
  id: string;
  bytes: Buffer;
}

/**
 * The seed people; Dr. Ryu may write the three seed categories; he uploads one document of each (the dose report
 * through Binary); the patient grants Dr. Lee at B read on lab results and dose reports.
 */
export async function seedWithDocuments(net: TestNetwork): Promise<{ people: People; docs: Record<string, Uploaded> }> {
  const seed = await enrollSeedPeople(net);
  await net.a.enrollment.enrollAdmin('admin-a', 'pw-admin', 'Admin A');
  const people: People = { ...seed, tokens: { ...seed.tokens, adminA: await net.a.tokenFor('admin-a') } };
  const ryu = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose'], ['access', 'correct']));
  expect(ryu.status, ryu.text).toBe(201);
  const docs: Record<string, Uploaded> = {};
  docs['history-physical'] = await upload(net, people, 'history-physical', '34117-2', Buffer.from('%PDF-1.4 history and physical'), false);
  docs['lab-results'] = await upload(net, people, 'lab-results', '11502-2', crypto.randomBytes(40_000), false);
  docs['radiation-dose'] = await upload(net, people, 'radiation-dose', '73569-6', crypto.randomBytes(600_000), true);
  const lee = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results', 'radiation-dose']));
  expect(lee.status, lee.text).toBe(201);
  await inSync(net);
  return { people, docs };
}

export function upload(net: TestNetwork, people: People, category: string, loinc: string, bytes: Buffer, viaBinary: boolean): Promise<Uploaded> {
  return uploadAsRyu(net, people, category, loinc, bytes, viaBinary);
}

/** B's replica has every block A's has, and the other way round. */
export async function inSync(net: TestNetwork): Promise<void> {
  await net.b.ledger.client.projection.waitForBlock(net.a.ledger.client.projection.height() - 1);
  await net.a.ledger.client.projection.waitForBlock(net.b.ledger.client.projection.height() - 1);
}

export async function download(node: HospitalNode, token: string, id: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`${node.baseUrl}/Binary/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

export async function metaOf(node: HospitalNode, id: string): Promise<DocumentMeta> {
  return (await node.db.query<{ record: DocumentMeta }>('SELECT record FROM ledger_documents WHERE id = $1', [id])).rows[0].record;
}

/** The patient's private encryption key as the home hospital holds it now. */
export async function patientPrivateKey(node: HospitalNode, pseudonym: string): Promise<JWK> {
  const key = await new KeyHolders(node.db, node.mspId, node.vault).privateKeyOf(pseudonym);
  expect(key).toBeDefined();
  return key!;
}

export async function readBlob(node: HospitalNode, key: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of await node.documents.blobs.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function listBlobs(node: HospitalNode, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of node.documents.blobs.list(prefix)) keys.push(item.key);
  return keys;
}
