import crypto from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { isLowS, newMessageSigner, toLowS } from '../../server/ledger/signer.js';

describe('ledger message signer', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicRaw = publicKey.export({ format: 'jwk' });
  const publicBytes = Buffer.concat([Buffer.from([4]), Buffer.from(publicRaw.x!, 'base64url'), Buffer.from(publicRaw.y!, 'base64url')]);

  it('produces only low-S signatures that verify over SHA-256 of the message', async () => {
    const sign = newMessageSigner(privateKey);
    for (let i = 0; i < 200; i++) {
      const message = crypto.randomBytes(64 + i);
      const signature = await sign(message);
      expect(isLowS(signature)).toBe(true);
      expect(crypto.verify('sha256', message, publicKey, signature)).toBe(true);
      // the same check Fabric peers make (strict low-S)
      const digest = crypto.createHash('sha256').update(message).digest();
      expect(p256.verify(signature, digest, publicBytes, { lowS: true, prehash: false, format: 'der' })).toBe(true);
    }
  });

  it('normalizes a high-S signature to its low-S twin, which still verifies', () => {
    const message = Buffer.from('consent');
    let high: Buffer | undefined;
    for (let i = 0; i < 100 && !high; i++) {
      const candidate = crypto.sign('sha256', message, privateKey);
      if (!isLowS(candidate)) high = candidate;
    }
    expect(high, 'OpenSSL emits high-S about half the time').toBeDefined();
    const low = toLowS(high!);
    expect(Buffer.from(low).equals(high!)).toBe(false);
    expect(isLowS(low)).toBe(true);
    expect(crypto.verify('sha256', message, publicKey, low)).toBe(true);
  });

  it('refuses keys that are not ECDSA P-256', () => {
    const { privateKey: p384 } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => newMessageSigner(p384)).toThrow(/P-256/);
  });
});
