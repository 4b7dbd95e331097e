import crypto from 'node:crypto';
import { signers } from '@hyperledger/fabric-gateway';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createCertificateAuthority,
  createRevocationList,
  issueIdentity,
  type CaMaterial,
  type IdentityMaterial,
} from '../../devpeer/msp/ca.js';
import { encodeEcdsaSignature, parseEcdsaSignature } from '../../devpeer/msp/der.js';
import { MspError, MspRegistry } from '../../devpeer/msp/msp.js';
import { serializeIdentity } from '../../devpeer/msp/serialize.js';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

let caA: CaMaterial;
let caB: CaMaterial;
let rogue: CaMaterial;
let alice: IdentityMaterial;
let bob: IdentityMaterial;

function registry(): MspRegistry {
  return new MspRegistry([
    { mspId: 'HospitalAMSP', caCertPem: caA.certPem },
    { mspId: 'HospitalBMSP', caCertPem: caB.certPem },
  ]);
}

function expectMspError(fn: () => unknown, pattern: RegExp, reason: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MspError);
  expect((caught as MspError).message).toMatch(pattern);
  expect((caught as MspError).reason).toBe(reason);
}

function signLowS(keyPem: string, message: Uint8Array): Buffer {
  const der = crypto.sign('sha256', message, crypto.createPrivateKey(keyPem));
  const { r, s } = parseEcdsaSignature(der);
  return encodeEcdsaSignature(r, s > P256_ORDER / 2n ? P256_ORDER - s : s);
}

beforeAll(async () => {
  [caA, caB, rogue] = await Promise.all([
    createCertificateAuthority('HospitalAMSP'),
    createCertificateAuthority('HospitalBMSP'),
    createCertificateAuthority('HospitalAMSP', { commonName: 'ca.impostor' }),
  ]);
  alice = await issueIdentity(caA, { commonName: 'alice', attrs: { role: 'patient', pseudonym: 'p-alice' } });
  bob = await issueIdentity(caB, { commonName: 'bob', ou: 'admin' });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('MspRegistry.validate', () => {
  it('accepts a serialized identity that chains to its organization CA and exposes its attributes', () => {
    const id = registry().validate(serializeIdentity('HospitalAMSP', alice.certPem));
    expect(id.mspId).toBe('HospitalAMSP');
    expect(id.subject).toBe('O=HospitalA, OU=client, CN=alice');
    expect(id.attrs).toEqual({ role: 'patient', pseudonym: 'p-alice' });
    expect(id.ou).toBe('client');
    expect(id.certPem).toBe(alice.certPem);
    expect(id.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(registry().validate(serializeIdentity('HospitalBMSP', bob.certPem)).ou).toBe('admin');
  });

  it("rejects a certificate claimed for the other organization, naming that MSP and the real issuer", () => {
    expectMspError(
      () => registry().validate(serializeIdentity('HospitalBMSP', alice.certPem)),
      /not signed by the CA of HospitalBMSP \(issuer "O=HospitalA, CN=ca.hospitala"\)/,
      'untrusted',
    );
  });

  it('rejects a certificate from an unknown CA even when it uses a known MSP id', async () => {
    const impostor = await issueIdentity(rogue, { commonName: 'alice', attrs: { role: 'patient' } });
    expectMspError(
      () => registry().validate(serializeIdentity('HospitalAMSP', impostor.certPem)),
      /not signed by the CA of HospitalAMSP \(issuer "O=HospitalA, CN=ca.impostor"\)/,
      'untrusted',
    );
  });

  it('rejects an unknown MSP id, naming it', () => {
    expectMspError(
      () => registry().validate(serializeIdentity('HospitalCMSP', alice.certPem)),
      /unknown MSP "HospitalCMSP" \(known: HospitalAMSP, HospitalBMSP\)/,
      'unknown-msp',
    );
  });

  it('rejects expired and not-yet-valid certificates', async () => {
    const expired = await issueIdentity(caA, {
      commonName: 'old',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const future = await issueIdentity(caA, {
      commonName: 'future',
      notBefore: new Date(Date.now() + 86_400_000),
      validDays: 30,
    });
    expectMspError(() => registry().validate(serializeIdentity('HospitalAMSP', expired.certPem)), /"O=HospitalA, OU=client, CN=old" of HospitalAMSP expired at/, 'expired');
    expectMspError(() => registry().validate(serializeIdentity('HospitalAMSP', future.certPem)), /not valid before/, 'not-yet-valid');
  });

  it('re-checks expiry on every call even when the identity is cached (long-running peer)', async () => {
    const notAfter = new Date(Date.now() + 60_000);
    const shortLived = await issueIdentity(caA, { commonName: 'temp', notAfter });
    const reg = registry();
    const bytes = serializeIdentity('HospitalAMSP', shortLived.certPem);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(notAfter.getTime() - 30_000);
    expect(reg.validate(bytes).subject).toMatch(/CN=temp/);
    expect(reg.validateCert('HospitalAMSP', shortLived.certPem).subject).toMatch(/CN=temp/);
    vi.setSystemTime(notAfter.getTime() + 1_000);
    expectMspError(() => reg.validate(bytes), /expired/, 'expired');
    expectMspError(() => reg.validateCert('HospitalAMSP', shortLived.certPem), /expired/, 'expired');
  });

  it('rejects malformed identities with a clear message', () => {
    const reg = registry();
    expectMspError(() => reg.validate(new Uint8Array([0xff, 0xff, 0xff])), /malformed serialized identity/, 'malformed');
    expectMspError(() => reg.validate(serializeIdentity('HospitalAMSP', 'not a certificate')), /malformed certificate for HospitalAMSP/, 'malformed');
  });

  it('refuses the CA certificate itself as an identity', () => {
    expectMspError(() => registry().validateCert('HospitalAMSP', caA.certPem), /is a CA certificate/, 'malformed');
  });

  it('rejects identities revoked by a CRL signed by the organization CA, also after caching', async () => {
    const reg = registry();
    const victim = await issueIdentity(caA, { commonName: 'lost-laptop' });
    const bytes = serializeIdentity('HospitalAMSP', victim.certPem);
    const serial = reg.validate(bytes).serialNumber;
    reg.setRevocationList('HospitalAMSP', await createRevocationList(caA, [{ serialNumber: serial }]));
    expectMspError(() => reg.validate(bytes), /CN=lost-laptop" of HospitalAMSP has been revoked/, 'revoked');
    expect(reg.validate(serializeIdentity('HospitalAMSP', alice.certPem)).subject).toMatch(/alice/);
    const fromConfig = new MspRegistry([
      { mspId: 'HospitalAMSP', caCertPem: caA.certPem, crlPem: await createRevocationList(caA, [{ serialNumber: serial }]) },
    ]);
    expectMspError(() => fromConfig.validate(bytes), /revoked/, 'revoked');
  });

  it('refuses a CRL not signed by the organization CA', async () => {
    const forged = await createRevocationList(caB, [{ serialNumber: '01' }]);
    expectMspError(() => registry().setRevocationList('HospitalAMSP', forged), /not signed by its CA/, 'untrusted');
  });

  it('validates a cached identity quickly', () => {
    const reg = registry();
    const bytes = serializeIdentity('HospitalAMSP', alice.certPem);
    reg.validate(bytes);
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) reg.validate(bytes);
    const perCallUs = ((performance.now() - start) / 20_000) * 1000;
    expect(perCallUs).toBeLessThan(50);
  });
});

describe('MspRegistry.verify', () => {
  const message = Buffer.from('signed proposal bytes');

  it('accepts signatures made by the fabric-gateway client signer', async () => {
    const reg = registry();
    const id = reg.validate(serializeIdentity(alice.mspId, alice.certPem));
    const sign = signers.newPrivateKeySigner(crypto.createPrivateKey(alice.keyPem));
    for (let i = 0; i < 5; i++) {
      const msg = Buffer.from(`proposal ${i}`);
      const signature = await sign(crypto.createHash('sha256').update(msg).digest());
      expect(reg.verify(id, msg, signature)).toBe(true);
    }
  });

  it('rejects a tampered message and a signature by another key', () => {
    const reg = registry();
    const id = reg.validate(serializeIdentity(alice.mspId, alice.certPem));
    const signature = signLowS(alice.keyPem, message);
    expect(reg.verify(id, message, signature)).toBe(true);
    const tampered = Buffer.from(message);
    tampered[0] ^= 1;
    expect(reg.verify(id, tampered, signature)).toBe(false);
    expect(reg.verify(id, message, signLowS(bob.keyPem, message))).toBe(false);
  });

  it('rejects the high-S twin of a valid signature, which plain ECDSA would accept', () => {
    const reg = registry();
    const id = reg.validate(serializeIdentity(alice.mspId, alice.certPem));
    const low = signLowS(alice.keyPem, message);
    const { r, s } = parseEcdsaSignature(low);
    const high = encodeEcdsaSignature(r, P256_ORDER - s);
    expect(crypto.verify('sha256', message, id.publicKey, high)).toBe(true);
    expect(reg.verify(id, message, high)).toBe(false);
  });

  it('rejects malformed DER signatures without throwing', () => {
    const reg = registry();
    const id = reg.validate(serializeIdentity(alice.mspId, alice.certPem));
    const good = signLowS(alice.keyPem, message);
    expect(reg.verify(id, message, new Uint8Array())).toBe(false);
    expect(reg.verify(id, message, Buffer.concat([good, Buffer.from([0])]))).toBe(false);
    expect(reg.verify(id, message, good.subarray(0, good.length - 1))).toBe(false);
  });
});
