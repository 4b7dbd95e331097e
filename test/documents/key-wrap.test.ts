import { createPrivateKey } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateDataKey } from '../../server/documents/chunked-aead.js';
import { IntegrityError, NoKeyError } from '../../server/documents/errors.js';
import { generateEncryptionKeyPair, unwrapDataKey, wrapDataKey } from '../../server/documents/key-wrap.js';

describe('data key wrapping (JWE ECDH-ES+A256KW / A256GCM)', () => {
  it('wraps for a recipient and unwraps with its private JWK or KeyObject', async () => {
    const alice = await generateEncryptionKeyPair();
    expect(alice.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(alice.publicJwk.d).toBeUndefined();
    expect(typeof alice.privateJwk.d).toBe('string');

    const dataKey = generateDataKey();
    const jwe = await wrapDataKey(dataKey, { id: 'Practitioner/ryu', publicJwk: alice.publicJwk });
    expect(jwe.split('.')).toHaveLength(5);
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'Practitioner/ryu' });
    expect(jwe.includes(dataKey.toString('base64url'))).toBe(false);

    expect((await unwrapDataKey(jwe, alice.privateJwk)).equals(dataKey)).toBe(true);
    const keyObject = createPrivateKey({ key: alice.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    expect((await unwrapDataKey(jwe, keyObject)).equals(dataKey)).toBe(true);
  });

  it('another user cannot unwrap: NoKeyError', async () => {
    const [alice, mallory] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    const jwe = await wrapDataKey(generateDataKey(), { id: 'alice', publicJwk: alice.publicJwk });
    await expect(unwrapDataKey(jwe, mallory.privateJwk)).rejects.toMatchObject({
      name: 'NoKeyError',
      reason: 'unwrap-failed',
    });
    await expect(unwrapDataKey(jwe, mallory.privateJwk)).rejects.toBeInstanceOf(NoKeyError);
  });

  it('a key wrapped for one document is refused for another', async () => {
    const alice = await generateEncryptionKeyPair();
    const jwe = await wrapDataKey(generateDataKey(), { id: 'alice', publicJwk: alice.publicJwk }, { document: 'documents/p/d1/content' });
    await expect(unwrapDataKey(jwe, alice.privateJwk, { document: 'documents/p/d2/content' })).rejects.toBeInstanceOf(IntegrityError);
    await expect(unwrapDataKey(jwe, alice.privateJwk, { document: 'documents/p/d1/content' })).resolves.toHaveLength(32);
  });

  it('a tampered JWE is not opened', async () => {
    const alice = await generateEncryptionKeyPair();
    const jwe = await wrapDataKey(generateDataKey(), { id: 'alice', publicJwk: alice.publicJwk });
    const parts = jwe.split('.');
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith('AA') ? 'BA' : 'AA');
    await expect(unwrapDataKey(parts.join('.'), alice.privateJwk)).rejects.toBeInstanceOf(NoKeyError);
    await expect(unwrapDataKey('not a jwe', alice.privateJwk)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses non-P-256 recipient keys and wrong-length data keys', async () => {
    const alice = await generateEncryptionKeyPair();
    await expect(wrapDataKey(generateDataKey(), { id: 'a', publicJwk: { kty: 'RSA', n: 'x', e: 'AQAB' } })).rejects.toThrow(TypeError);
    await expect(wrapDataKey(Buffer.alloc(16), { id: 'a', publicJwk: alice.publicJwk })).rejects.toThrow(TypeError);
  });
});
