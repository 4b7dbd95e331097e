// The consentry contract's rules, driven through startDevPeer and the unmodified fabric-gateway client.
import type { Contract } from '@hyperledger/fabric-gateway';
import { EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevPeer, type DevPeer } from '../../devpeer/index.js';
import { connectUser, newUser, tempDir, userFrom, utf8, type Connection } from './support.js';

const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

let devpeer: DevPeer;
const connections: Connection[] = [];
let alice: Contract; // patient p-alice, HospitalA
let bob: Contract; // patient p-bob, HospitalA
let drA: Contract; // practitioner HospitalAMSP/Practitioner/a1
let drB: Contract; // practitioner HospitalBMSP/Practitioner/b1, may break the glass
let adminA: Contract;

function contractFor(conn: Connection): Contract {
  connections.push(conn);
  return conn.gateway.getNetwork(devpeer.channel).getContract(devpeer.chaincode);
}

async function call<T>(contract: Contract, fn: string, ...args: unknown[]): Promise<T> {
  const strings = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
  return JSON.parse(utf8(await contract.submitTransaction(fn, ...strings))) as T;
}

async function query<T>(contract: Contract, fn: string, ...args: unknown[]): Promise<T> {
  const strings = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
  return JSON.parse(utf8(await contract.evaluateTransaction(fn, ...strings))) as T;
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  const details = (err as GatewayError).details;
  return details.length > 0 ? details[0].message : (err as Error).message;
}

function grant(id: string, patient: string, grantee: object, rights: string[], categories: string[]) {
  return { id, patient, grantee, rights, categories, from: iso(Date.now() - HOUR), to: iso(Date.now() + 24 * HOUR), purpose: 'TREAT' };
}

function document(id: string, patient: string, category: string) {
  return { id, patient, category, type: '11506-3', blob: `blobs/${id}`, ciphertextSha256: 'ab'.repeat(32), size: 42, contentType: 'application/fhir+json' };
}

interface Permission {
  id: string;
  status: string;
  to: string;
  emergency?: boolean;
  purpose: string;
  timestamp: string;
}

beforeAll(async () => {
  devpeer = await startDevPeer({ dataDir: await tempDir(), log: () => undefined });
  const [orgA, orgB] = devpeer.orgs;
  alice = contractFor(connectUser(devpeer.endpoint, await newUser(orgA.ca, 'alice', { role: 'patient', pseudonym: 'p-alice' })));
  bob = contractFor(connectUser(devpeer.endpoint, await newUser(orgA.ca, 'bob', { role: 'patient', pseudonym: 'p-bob' })));
  drA = contractFor(connectUser(devpeer.endpoint, await newUser(orgA.ca, 'dr-a', { role: 'practitioner', fhirUser: 'Practitioner/a1', npi: '1234567893' })));
  drB = contractFor(
    connectUser(devpeer.endpoint, await newUser(orgB.ca, 'dr-b', { role: 'practitioner', fhirUser: 'Practitioner/b1', npi: '1234567802', emergency: 'true' })),
  );
  adminA = contractFor(connectUser(devpeer.endpoint, userFrom(orgA.mspId, orgA.admin.certPem, orgA.admin.keyPem)));
  await call(alice, 'RegisterPatient', { pseudonym: 'p-alice', encryptionKey: KEY });
  await call(bob, 'RegisterPatient', { pseudonym: 'p-bob', encryptionKey: KEY });
});

afterAll(async () => {
  for (const c of connections) c.close();
  await devpeer?.stop();
});

describe('consentry rules through the gateway', () => {
  it('lets a practitioner add a document only with a write permission for its category', async () => {
    const message = await rejection(call(drA, 'AddDocument', document('d1', 'p-alice', 'lab-results')));
    expect(message).toMatch(/^chaincode response 500, Permission denied: .*no write permission on lab-results/);
    await call(alice, 'GrantPermission', grant('w1', 'p-alice', { kind: 'practitioner', id: 'HospitalAMSP/Practitioner/a1' }, ['write'], ['lab-results']));
    const doc = await call<{ author: string }>(drA, 'AddDocument', document('d1', 'p-alice', 'lab-results'));
    expect(doc.author).toBe('HospitalAMSP/Practitioner/a1');
    await rejection(call(drA, 'AddDocument', document('d2', 'p-alice', 'imaging')));
  });

  it('does not let a patient grant permissions on another pseudonym', async () => {
    const err = await alice.submitTransaction('GrantPermission', JSON.stringify(grant('x1', 'p-bob', { kind: 'organization', id: 'HospitalAMSP' }, ['read'], ['*']))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    expect((err as EndorseError).details[0].message).toContain('Permission denied: only patient p-bob may grant');
    expect(await query<unknown[]>(bob, 'ListPermissions', 'p-bob')).toEqual([]);
  });

  it('denies access from the revoking transaction on, keeps earlier answers, and lists history newest first', async () => {
    const grantee = { kind: 'practitioner', id: 'HospitalAMSP/Practitioner/a1' };
    const granted = await call<Permission>(alice, 'GrantPermission', grant('r1', 'p-alice', grantee, ['read'], ['imaging']));
    const before = new Date().toISOString();
    expect((await query<{ allowed: boolean }>(drA, 'CheckAccess', 'p-alice', grantee, 'read', 'imaging', before)).allowed).toBe(true);

    const revoked = await call<Permission>(alice, 'RevokePermission', 'p-alice', 'r1');
    expect(revoked.status).toBe('revoked');
    expect(revoked.to).toBe(revoked.timestamp);
    const atRevocation = await query<{ allowed: boolean }>(drA, 'CheckAccess', 'p-alice', grantee, 'read', 'imaging', revoked.to);
    expect(atRevocation.allowed).toBe(false);
    expect((await query<{ allowed: boolean }>(drA, 'CheckAccess', 'p-alice', grantee, 'read', 'imaging', '')).allowed).toBe(false);
    expect((await query<{ allowed: boolean }>(drA, 'CheckAccess', 'p-alice', grantee, 'read', 'imaging', before)).allowed).toBe(true);

    const history = await query<{ value: Permission }[]>(alice, 'GetPermissionHistory', 'p-alice', 'r1');
    expect(history.map((h) => h.value.status)).toEqual(['revoked', 'active']);
    expect(history[1].value.timestamp).toBe(granted.timestamp);
  });

  it('flags break-glass access and refuses it without the emergency attribute', async () => {
    const message = await rejection(call(drA, 'EmergencyAccess', 'p-alice', 'unconscious'));
    expect(message).toContain('emergency=true');
    const btg = await call<Permission>(drB, 'EmergencyAccess', 'p-alice', 'unconscious in the ER');
    expect(btg).toMatchObject({ emergency: true, purpose: 'BTG', status: 'active' });
    const seenByPatient = await query<Permission[]>(alice, 'ListPermissions', 'p-alice');
    expect(seenByPatient.find((p) => p.id === btg.id)).toMatchObject({ emergency: true });
  });

  it('ends every permission and erases every document on erasure', async () => {
    await call(bob, 'GrantPermission', grant('e1', 'p-bob', { kind: 'organization', id: 'HospitalBMSP' }, ['read'], ['*']));
    await call(bob, 'AddDocument', document('bd1', 'p-bob', 'treatment-plan'));
    const erased = await call<{ permissions: Permission[] }>(bob, 'ErasePatient', 'p-bob');
    expect(erased.permissions.map((p) => p.status)).toEqual(['revoked']);
    const all = await query<Permission[]>(adminA, 'ListPermissions', 'p-bob');
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((p) => p.status === 'revoked')).toBe(true);
    const docs = await query<{ status: string }[]>(bob, 'ListDocuments', 'p-bob');
    expect(docs.map((d) => d.status)).toEqual(['erased']);
    const decision = await query<{ allowed: boolean }>(drB, 'CheckAccess', 'p-bob', { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/b1' }, 'read', 'lab-results', '');
    expect(decision.allowed).toBe(false);
  });

  it('applies SubmitBatch all or nothing', async () => {
    const good = { fn: 'GrantPermission', args: [JSON.stringify(grant('b1', 'p-alice', { kind: 'organization', id: 'HospitalBMSP' }, ['read'], ['imaging']))] };
    const bad = { fn: 'GrantPermission', args: [JSON.stringify(grant('b2', 'p-bob', { kind: 'organization', id: 'HospitalBMSP' }, ['read'], ['imaging']))] };
    const message = await rejection(call(alice, 'SubmitBatch', [good, bad]));
    expect(message).toContain('batch operation 1');
    expect((await query<Permission[]>(alice, 'ListPermissions', 'p-alice')).map((p) => p.id)).not.toContain('b1');

    const other = { fn: 'GrantPermission', args: [JSON.stringify(grant('b3', 'p-alice', { kind: 'organization', id: 'HospitalBMSP' }, ['read'], ['lab-results']))] };
    await call(alice, 'SubmitBatch', [good, other]);
    const ids = (await query<Permission[]>(alice, 'ListPermissions', 'p-alice')).map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['b1', 'b3']));
  });
});
