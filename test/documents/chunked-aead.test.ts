import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  ciphertextSize,
  createDecryptStream,
  createEncryptStream,
  DEFAULT_CHUNK_SIZE,
  generateDataKey,
  HEADER_LENGTH,
  TAG_LENGTH,
} from '../../server/documents/chunked-aead.js';
import { IntegrityError } from '../../server/documents/errors.js';
import { collect, collectUntilError, streamOf } from './helpers.js';

async function encrypt(key: Buffer, plain: Buffer, chunkSize?: number): Promise<Buffer> {
  const enc = createEncryptStream(key, chunkSize === undefined ? {} : { chunkSize });
  const out = collect(enc);
  await pipeline(streamOf(plain), enc);
  return out;
}

function decryptAll(key: Buffer, cipher: Buffer, piece?: number): Promise<{ data: Buffer; error: unknown }> {
  const dec = createDecryptStream(key);
  streamOf(cipher, piece).pipe(dec);
  return collectUntilError(dec);
}

describe('chunked AES-256-GCM round trips', () => {
  const C = DEFAULT_CHUNK_SIZE;
  it.each([0, 1, C - 1, C, C + 1, 2 * C, 5 * 1024 * 1024 + 3])('%i bytes', async (size) => {
    const key = generateDataKey();
    const plain = randomBytes(size);
    const cipher = await encrypt(key, plain);
    expect(cipher.length).toBe(ciphertextSize(size));
    // no plaintext run shows through (a run shorter than 16 bytes can occur in random ciphertext by chance)
    if (size >= 16) expect(cipher.includes(plain.subarray(0, Math.min(size, 64)))).toBe(false);
    const { data, error } = await decryptAll(key, cipher, 65_521);
    expect(error).toBeUndefined();
    expect(data.equals(plain)).toBe(true);
  });

  it('uses a fresh nonce prefix per stream: same key and content give different ciphertext', async () => {
    const key = generateDataKey();
    const plain = randomBytes(3000);
    expect((await encrypt(key, plain)).equals(await encrypt(key, plain))).toBe(false);
  });

  it('reads back any chunk size it writes, since the size travels in the header', async () => {
    const key = generateDataKey();
    const plain = randomBytes(10_000);
    const cipher = await encrypt(key, plain, 1024);
    expect(cipher.length).toBe(ciphertextSize(10_000, 1024));
    expect((await decryptAll(key, cipher, 1)).data.equals(plain)).toBe(true);
  });

  it('refuses keys of the wrong length and absurd chunk sizes', () => {
    expect(() => createEncryptStream(randomBytes(16))).toThrow(TypeError);
    expect(() => createEncryptStream(generateDataKey(), { chunkSize: 100 })).toThrow(RangeError);
  });
});

describe('tampering is detected and the bad chunk never released', () => {
  const CS = 4096;
  const SEALED = CS + TAG_LENGTH;
  const key = generateDataKey();
  const plain = randomBytes(4 * CS + 100); // chunks 0..3 full, chunk 4 (last) 100 bytes
  let cipher: Buffer;
  const chunkAt = (i: number) => HEADER_LENGTH + i * SEALED;

  async function expectRejected(tampered: Buffer, releasedChunks: number) {
    const { data, error } = await decryptAll(key, tampered);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(data.length).toBe(releasedChunks * CS);
    expect(data.equals(plain.subarray(0, releasedChunks * CS))).toBe(true);
  }
  const flip = (at: number) => {
    const t = Buffer.from(cipher);
    t[at]! ^= 0x01;
    return t;
  };

  it('setup: the untouched ciphertext decrypts', async () => {
    cipher = await encrypt(key, plain, CS);
    expect(cipher.length).toBe(HEADER_LENGTH + 5 * TAG_LENGTH + plain.length);
    expect((await decryptAll(key, cipher)).data.equals(plain)).toBe(true);
  });

  it.each([
    ['magic', 0],
    ['version', 4],
    ['chunk size', 7],
    ['nonce prefix', 12],
  ])('a flipped header byte (%s) releases nothing', async (_what, at) => {
    await expectRejected(flip(at), 0);
  });

  it('a flipped ciphertext byte in chunk 2 releases exactly chunks 0 and 1', async () => {
    await expectRejected(flip(chunkAt(2) + 1000), 2);
  });

  it('a flipped tag byte of chunk 1 releases exactly chunk 0', async () => {
    await expectRejected(flip(chunkAt(1) + CS + 3), 1);
  });

  it('a flipped byte in the short last chunk releases all full chunks but not the last', async () => {
    await expectRejected(flip(chunkAt(4) + 10), 4);
  });

  it('dropping the last chunk (truncation at a chunk boundary) is detected', async () => {
    await expectRejected(cipher.subarray(0, chunkAt(4)), 3);
  });

  it('truncation inside a chunk is detected', async () => {
    await expectRejected(cipher.subarray(0, chunkAt(3) + 500), 3);
  });

  it('truncation inside the header or to nothing is detected', async () => {
    await expectRejected(cipher.subarray(0, 10), 0);
    await expectRejected(Buffer.alloc(0), 0);
    await expectRejected(cipher.subarray(0, HEADER_LENGTH), 0);
  });

  it('swapping chunks 1 and 2 is detected at chunk 1', async () => {
    const t = Buffer.concat([
      cipher.subarray(0, chunkAt(1)),
      cipher.subarray(chunkAt(2), chunkAt(3)),
      cipher.subarray(chunkAt(1), chunkAt(2)),
      cipher.subarray(chunkAt(3)),
    ]);
    await expectRejected(t, 1);
  });

  it('dropping a middle chunk is detected', async () => {
    await expectRejected(Buffer.concat([cipher.subarray(0, chunkAt(2)), cipher.subarray(chunkAt(3))]), 2);
  });

  it('an appended chunk or appended bytes are detected', async () => {
    await expectRejected(Buffer.concat([cipher, cipher.subarray(chunkAt(1), chunkAt(2))]), 4);
    await expectRejected(Buffer.concat([cipher, Buffer.from([0])]), 4);
  });

  it('content appended after a full last chunk is detected', async () => {
    const exact = plain.subarray(0, 2 * CS);
    const c = await encrypt(key, exact, CS);
    const { error } = await decryptAll(key, Buffer.concat([c, c.subarray(HEADER_LENGTH, HEADER_LENGTH + SEALED)]));
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it('the wrong key releases nothing', async () => {
    const { data, error } = await decryptAll(generateDataKey(), cipher);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(data.length).toBe(0);
  });
});

describe('backpressure', () => {
  it('the encryptor stops accepting input while nobody reads its output', () => {
    const chunkSize = 64 * 1024;
    const enc = createEncryptStream(generateDataKey(), { chunkSize });
    let accepted = 0;
    const piece = Buffer.alloc(16 * 1024);
    while (accepted < 64 * 1024 * 1024 && enc.write(piece)) accepted += piece.length;
    expect(accepted).toBeLessThan(5 * chunkSize);
    enc.destroy();
  });

  it('the decryptor stops accepting input while nobody reads its output', async () => {
    const key = generateDataKey();
    const cipher = await encrypt(key, randomBytes(4 * 1024 * 1024), 64 * 1024);
    const dec = createDecryptStream(key);
    let accepted = 0;
    const piece = 16 * 1024;
    while (accepted < cipher.length && dec.write(cipher.subarray(accepted, accepted + piece))) accepted += piece;
    expect(accepted).toBeLessThan(1024 * 1024);
    dec.destroy();
  });
});
