import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill loaded first
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, EndorseError, hash, signers, type Gateway } from '@hyperledger/fabric-gateway';
import * as x509 from '@peculiar/x509';
import { compactDecrypt, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FABRIC_ATTRS_OID } from '../../devpeer/msp/ca.js';
import { certificateParts } from '../../devpeer/msp/certfields.js';
import { vaultContext } from '../../server/membership/key-vault.js';
import { npiCheckDigitValid } from '../../server/membership/npi.js';
import { EXPORT_P2C } from '../../server/membership/operations.js';
import type { HospitalNode } from '../../server/node.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { enrollSeedPeople } from '../support/seed-scenario.js';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const parameters = (values: Record<string, string | boolean>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(values).map(([name, v]) => (typeof v === 'boolean' ? { name, valueBoolean: v } : { name, valueString: v })),
});

/** Everything an enrollment could have written: ledger blocks, accounts, local resources. */
async function footprint(net: TestNetwork, node: HospitalNode) {
  const count = async (sql: string) => (await node.db.query<{ n: number }>(sql)).rows[0].n;
  return {
    blocks: net.peer.peer.height(),
    users: await count('SELECT count(*)::int AS n FROM users'),
    resources: await count('SELECT count(*)::int AS n FROM resource_versions'),
  };
}

function attrsOf(certPem: string): Record<string, string> {
  const value = certificateParts(new crypto.X509Certificate(certPem).raw).extension(FABRIC_ATTRS_OID);
  return (JSON.parse(Buffer.from(value!).toString('utf8')) as { attrs: Record<string, string> }).attrs;
}

describe('membership service: enrollment, revocation, key vault', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let admin: string;
  const asA = (token: string, method: string, p: string, body?: unknown) => fhir(net.a.baseUrl, token, method, p, body);

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    await net.a.enrollment.enrollAdmin('admin-a', 'pw-admin-a', 'Admin A');
    admin = await net.a.tokenFor('admin-a');
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('applies the CMS NPI check digit (Luhn over 80840 + NPI)', () => {
    for (const npi of ['1234567893', '1245319599', '1679576722', '1003000126']) expect(npiCheckDigitValid(npi), npi).toBe(true);
    for (const npi of ['1234567890', '1234567894', '123456789', '12345678931', 'abcdefghij', '']) expect(npiCheckDigitValid(npi), npi).toBe(false);
  });

  it('refuses a practitioner whose NPI fails the check digit or the directory, and writes nothing', async () => {
    const before = await footprint(net, net.a);
    const cases: [string, RegExp][] = [
      ['1234567890', /check digit/],
      ['1987657750', /not listed in the practitioner directory/], // a valid check digit, unknown to the directory
      ['1987658436', /deactivated/],
    ];
    for (const [npi, message] of cases) {
      const res = await asA(admin, 'POST', 'Practitioner/$enroll', parameters({ username: `dr-${npi}`, password: 'pw-long-enough', id: `p${npi}`, given: 'No', family: 'Body', npi }));
      expect(res.status, res.text).toBe(422);
      expect(res.body?.resourceType).toBe('OperationOutcome');
      expect(res.body?.issue[0].diagnostics).toMatch(message);
      await expect(net.a.enrollment.enrollPractitioner({ username: `dr-${npi}`, password: 'pw', id: `p${npi}`, given: 'No', family: 'Body', npi })).rejects.toThrow(message);
    }
    expect(await footprint(net, net.a)).toEqual(before);
    expect(await net.a.users.find('dr-1987657750')).toBeUndefined();
    expect((await asA(admin, 'GET', 'Practitioner/p1987657750')).status).toBe(404);
  });

  it('enrolls a listed practitioner and a patient over the API, with Fabric CA attributes and a pseudonym', async () => {
    const res = await asA(admin, 'POST', 'Practitioner/$enroll', parameters({ username: 'dr.novak', password: 'pw-novak-demo', id: 'novak', given: 'Sam', family: 'Novak', npi: '1987655986', emergency: true }));
    expect(res.status, res.text).toBe(201);
    const novak = (await net.a.users.find('dr.novak'))!;
    expect(attrsOf(novak.ledger_cert)).toEqual({ role: 'practitioner', fhirUser: 'Practitioner/novak', npi: '1987655986', emergency: 'true' });
    await expect.poll(async () => (await net.a.db.query<{ npi: string }>(`SELECT record ->> 'npi' AS npi FROM ledger_practitioners WHERE id = $1`, ['HospitalAMSP/Practitioner/novak'])).rows[0]?.npi).toBe('1987655986');

    const patient = await asA(admin, 'POST', 'Patient/$enroll', parameters({ username: 'ines', password: 'pw-ines-demo', given: 'Ines', family: 'Moreau', birthDate: '1970-05-06', postalCode: '11733', gender: 'female' }));
    expect(patient.status, patient.text).toBe(201);
    const ines = (await net.a.users.find('ines'))!;
    const { rows } = await net.a.db.query<{ secret: string }>('SELECT secret FROM patient_pseudonyms WHERE patient_id = $1', [patient.body!.id]);
    const expected = crypto.createHmac('sha256', Buffer.from(rows[0].secret, 'base64url')).update('moreau|ines|1970-05-06|11733').digest('hex');
    expect(ines.pseudonym).toBe(expected);
    expect(attrsOf(ines.ledger_cert)).toEqual({ role: 'patient', fhirUser: `Patient/${patient.body!.id}`, pseudonym: expected });

    const notAdmin = await asA(people.tokens.ryu, 'POST', 'Patient/$enroll', parameters({ username: 'x', password: 'pw-long-enough', given: 'X', family: 'Y', birthDate: '1970-01-01', postalCode: '1' }));
    expect(notAdmin.status).toBe(403);
  });

  it('keeps private keys sealed at rest and opens them through the vault', async () => {
    const users = await net.a.db.query<{ username: string; ledger_cert: string; ledger_key_sealed: string; encryption_key_sealed: string; encryption_public_jwk: JWK }>('SELECT * FROM users');
    expect(users.rows.length).toBeGreaterThan(3);
    for (const u of users.rows) {
      for (const sealed of [u.ledger_key_sealed, u.encryption_key_sealed]) {
        expect(sealed).toMatch(/^kv1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
        expect(sealed).not.toMatch(/PRIVATE KEY|"d"/);
      }
      const signing = await net.a.vault.openPem(u.ledger_key_sealed, vaultContext.userSigningKey(u.username));
      expect(new crypto.X509Certificate(u.ledger_cert).checkPrivateKey(signing)).toBe(true);
      const enc = await net.a.vault.openJwk(u.encryption_key_sealed, vaultContext.userEncryptionKey(u.username));
      expect({ x: enc.x, y: enc.y }).toEqual({ x: u.encryption_public_jwk.x, y: u.encryption_public_jwk.y });
      // a sealed key opens only as what it was sealed for
      await expect(net.a.vault.open(u.ledger_key_sealed, vaultContext.userSigningKey('someone-else'))).rejects.toThrow(/does not open/);
    }
    const own = await net.a.db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM hospital_keys');
    for (const k of own.rows) expect(k.private_key_sealed).toMatch(/^kv1:/);
    const keyFile = path.join(net.dataDir, 'hospitala', 'keys', 'key-encryption-key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('exports a patient\'s keys under a passphrase, to the patient only', async () => {
    const res = await asA(people.tokens.patient, 'POST', `Patient/${people.patientId}/$export-keys`, parameters({ passphrase: 'correct horse battery staple' }));
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const jwe = res.body!.parameter.find((p: Body) => p.name === 'keys').valueString as string;
    expect(jwe.split('.')).toHaveLength(5);
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, new TextEncoder().encode('correct horse battery staple'), { maxPBES2Count: EXPORT_P2C, keyManagementAlgorithms: ['PBES2-HS512+A256KW'] });
    expect(protectedHeader).toMatchObject({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM' });
    const keys = JSON.parse(new TextDecoder().decode(plaintext)) as Body;
    const mara = (await net.a.users.find('mara'))!;
    expect(keys.pseudonym).toBe(people.pseudonym);
    expect(new crypto.X509Certificate(keys.signing.certificate).checkPrivateKey(crypto.createPrivateKey(keys.signing.privateKey))).toBe(true);
    expect(keys.signing.certificate).toBe(mara.ledger_cert);
    expect(keys.encryption.privateJwk.x).toBe(mara.encryption_public_jwk.x);
    expect(keys.encryption.privateJwk.d).toBeTypeOf('string');

    await expect(compactDecrypt(jwe, new TextEncoder().encode('wrong horse battery staple'), { maxPBES2Count: EXPORT_P2C, keyManagementAlgorithms: ['PBES2-HS512+A256KW'] })).rejects.toThrow();
    for (const token of [people.tokens.ryu, admin]) {
      expect((await asA(token, 'POST', `Patient/${people.patientId}/$export-keys`, parameters({ passphrase: 'correct horse battery staple' }))).status).toBe(403);
    }
    expect((await asA(people.tokens.patient, 'POST', `Patient/${people.patientId}/$export-keys`, parameters({ passphrase: 'short' }))).status).toBe(400);
  });

  it('a revoked identity can neither transact on the ledger, nor log in, nor use its tokens', async () => {
    const park = (await net.a.users.find('park'))!;
    const parkToken = await net.a.tokenFor('park');
    expect((await asA(parkToken, 'GET', 'Practitioner/park')).status).toBe(200);
    // a fabric-gateway client of its own, signing as Dr. Park: its identity is validated (and cached) by the peer
    const client = new grpc.Client(net.peer.endpoint, grpc.credentials.createInsecure());
    let gateway: Gateway | undefined;
    try {
      const key = await net.a.vault.openPem(park.ledger_key_sealed, vaultContext.userSigningKey('park'));
      gateway = connect({ client, identity: { mspId: 'HospitalAMSP', credentials: Buffer.from(park.ledger_cert) }, signer: signers.newPrivateKeySigner(key), hash: hash.sha256 });
      const contract = gateway.getNetwork('consentry').getContract('consentry');
      await contract.submitTransaction('GetPatient', people.pseudonym);

      expect((await asA(parkToken, 'POST', 'Practitioner/park/$revoke-identity', parameters({ reason: 'x' }))).status).toBe(403);
      const revoked = await asA(admin, 'POST', 'Practitioner/park/$revoke-identity', parameters({ reason: 'laptop stolen' }));
      expect(revoked.status, revoked.text).toBe(200);

      const err = await contract.submitTransaction('GetPatient', people.pseudonym).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(EndorseError);
      // as a Fabric gateway reports a proposal its peer refused: ABORTED, the peer's reason in the details
      expect([grpc.status.ABORTED, grpc.status.PERMISSION_DENIED]).toContain((err as EndorseError).code);
      expect((err as EndorseError).details.map((d) => d.message).join('\n')).toMatch(/access denied.*CN=park" of HospitalAMSP has been revoked/);
      await expect(contract.evaluateTransaction('GetPatient', people.pseudonym)).rejects.toThrow();
    } finally {
      gateway?.close();
      client.close();
    }

    expect(await net.a.users.login('park', 'pw-park')).toBeUndefined();
    expect((await asA(parkToken, 'GET', 'Practitioner/park')).status).toBe(401);
    expect((await asA(await net.a.tokenFor('park'), 'GET', 'Practitioner')).status).toBe(401);
    expect((await asA(admin, 'GET', 'Practitioner/park')).body?.active).toBe(false);
    expect((await asA(admin, 'POST', 'Practitioner/park/$revoke-identity', parameters({}))).status).toBe(409);

    // the CRL is signed by the hospital's CA and kept by the peer for its next start
    const crlPem = fs.readFileSync(path.join(net.dataDir, 'devpeer', 'msp', 'HospitalAMSP', 'crl.pem'), 'utf8');
    const crl = new x509.X509Crl(crlPem);
    const caCert = new x509.X509Certificate(fs.readFileSync(path.join(net.dataDir, 'devpeer', 'msp', 'HospitalAMSP', 'ca-cert.pem'), 'utf8'));
    expect(await crl.verify({ publicKey: caCert })).toBe(true);
    const serial = new crypto.X509Certificate(park.ledger_cert).serialNumber.toLowerCase().replace(/^0+/, '');
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+/, ''))).toContain(serial);
    expect(fs.readFileSync(path.join(net.dataDir, 'hospitala', 'ca', 'crl.pem'), 'utf8')).toBe(crlPem);

    // other users of the hospital are unaffected
    expect((await asA(people.tokens.ryu, 'GET', 'Practitioner/ryu')).status).toBe(200);
  });
});
