// The byte-level low-S check and P1363→DER conversion agree with the bigint parser on every edge.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeEcdsaSignature, isLowSP256Signature, p1363ToLowSDer, parseEcdsaSignature } from '../../devpeer/msp/der.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF = N >> 1n;

function bigintCheck(der: Uint8Array): boolean {
  try {
    const { r, s } = parseEcdsaSignature(der);
    return r > 0n && r < N && s > 0n && s <= HALF;
  } catch {
    return false;
  }
}

describe('P-256 signature encoding', () => {
  it('accepts exactly the signatures with 0 < r < n and 0 < s ≤ n/2', () => {
    const cases: [bigint, bigint][] = [
      [1n, 1n],
      [N - 1n, HALF],
      [N - 1n, HALF + 1n],
      [N, 1n],
      [N + 1n, 1n],
      [0n, 5n],
      [5n, 0n],
      [0x80n, 0x7fn],
      [2n ** 255n, 2n ** 200n],
    ];
    for (const [r, s] of cases) {
      const der = encodeEcdsaSignature(r, s);
      expect(isLowSP256Signature(der), `r=${r.toString(16)} s=${s.toString(16)}`).toBe(bigintCheck(der));
    }
  });

  it('rejects malformed DER like the strict parser', () => {
    const good = encodeEcdsaSignature(12345n, 678n);
    const variants = [
      new Uint8Array(0),
      Buffer.concat([good, Buffer.from([0])]),
      good.subarray(0, good.length - 1),
      Buffer.from([0x30, 0x06, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x01]), // non-minimal r
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x01]), // negative r
    ];
    for (const der of variants) expect(isLowSP256Signature(der)).toBe(bigintCheck(der));
  });

  it('converts OpenSSL P1363 output to a low-S DER signature that verifies', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let flipped = 0;
    for (let i = 0; i < 100; i++) {
      const message = crypto.randomBytes(100);
      const raw = crypto.sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = p1363ToLowSDer(raw);
      const { r, s } = parseEcdsaSignature(der);
      expect(r).toBe(BigInt(`0x${raw.subarray(0, 32).toString('hex')}`));
      const rawS = BigInt(`0x${raw.subarray(32).toString('hex')}`);
      expect(s).toBe(rawS > HALF ? N - rawS : rawS);
      if (rawS > HALF) flipped++;
      expect(isLowSP256Signature(der)).toBe(true);
      expect(crypto.verify('sha256', message, publicKey, der)).toBe(true);
    }
    expect(flipped).toBeGreaterThan(0);
  });
});
