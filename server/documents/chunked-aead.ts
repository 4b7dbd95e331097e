/**
 * Chunked authenticated encryption of document content (DESIGN §6), a STREAM construction over AES-256-GCM.
 *
 * Layout of the stored bytes:
 *   header (16 bytes) = magic "CSTY" ‖ version (1 byte) ‖ chunk size (u32 BE) ‖ nonce prefix (7 random bytes)
 *   then chunks: ciphertext ‖ 16-byte tag. Every chunk but the last holds exactly `chunk size` plaintext bytes;
 *   the last holds 0..chunk size bytes, so there is always at least one chunk (empty content = one empty chunk).
 * Chunk i uses nonce = prefix ‖ u32 BE i ‖ (1 if last else 0), and the whole header as AAD. Reordering, dropping,
 * appending or truncating chunks, or changing the header, therefore fails a tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from './errors.js';

export const FORMAT_VERSION = 1;
export const HEADER_LENGTH = 16;
export const TAG_LENGTH = 16;
export const DATA_KEY_LENGTH = 32;
/** Chosen by measurement (bench/blob.ts): larger chunks gained nothing measurable, smaller ones cost throughput. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
export const MIN_CHUNK_SIZE = 1024;
/** Upper bound a decryptor accepts from a header, so a forged header cannot make it buffer without limit. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

const MAGIC = Buffer.from('CSTY', 'ascii');
const NONCE_PREFIX_LENGTH = 7;
const MAX_CHUNK_INDEX = 0xffff_ffff;

export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_LENGTH);
}

export interface EncryptOptions {
  chunkSize?: number;
  /** Readable-side buffer of the transform; defaults to one chunk. */
  highWaterMark?: number;
}

export interface ParsedHeader {
  version: number;
  chunkSize: number;
  noncePrefix: Buffer;
}

function checkKey(dataKey: Uint8Array): void {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new TypeError(`data key must be ${DATA_KEY_LENGTH} bytes`);
}

function encodeHeader(chunkSize: number, noncePrefix: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt32BE(chunkSize, 5);
  noncePrefix.copy(header, 9);
  return header;
}

/** Parses and bounds-checks a header; the header's authenticity is only established by the first chunk's tag. */
export function parseHeader(header: Buffer): ParsedHeader {
  if (header.length < HEADER_LENGTH) throw new IntegrityError('encrypted content is truncated inside its header');
  if (!header.subarray(0, 4).equals(MAGIC)) throw new IntegrityError('encrypted content has a bad magic number');
  const version = header.readUInt8(4);
  if (version !== FORMAT_VERSION) throw new IntegrityError(`unsupported encryption format version ${version}`);
  const chunkSize = header.readUInt32BE(5);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new IntegrityError(`encrypted content declares an invalid chunk size ${chunkSize}`);
  }
  return { version, chunkSize, noncePrefix: Buffer.from(header.subarray(9, HEADER_LENGTH)) };
}

/** Plaintext length of a well-formed ciphertext of `storedSize` bytes with the given chunk size. */
export function plaintextSize(storedSize: number, chunkSize: number): number {
  const body = storedSize - HEADER_LENGTH;
  if (body < TAG_LENGTH) throw new IntegrityError('encrypted content is too short');
  const chunks = Math.ceil(body / (chunkSize + TAG_LENGTH));
  return body - chunks * TAG_LENGTH;
}

/** Length of the ciphertext for `size` plaintext bytes. */
export function ciphertextSize(size: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  const chunks = Math.max(1, Math.ceil(size / chunkSize));
  return HEADER_LENGTH + size + chunks * TAG_LENGTH;
}

function nonceFor(prefix: Buffer, index: number, last: boolean): Buffer {
  if (index > MAX_CHUNK_INDEX) throw new IntegrityError('content has too many chunks');
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, NONCE_PREFIX_LENGTH);
  nonce.writeUInt8(last ? 1 : 0, 11);
  return nonce;
}

/** FIFO of buffers from which fixed-length runs are taken without copying. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.parts.push(buf);
    this.length += buf.length;
  }

  /** Removes the first n bytes (n ≤ length) and returns them as a list of slices. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.parts[0]!;
      if (head.length <= need) {
        out.push(head);
        this.parts.shift();
        need -= head.length;
      } else {
        out.push(head.subarray(0, need));
        this.parts[0] = head.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return out;
  }

  takeAll(): Buffer[] {
    const out = this.parts;
    this.parts = [];
    this.length = 0;
    return out;
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('expected binary chunks');
}

class EncryptStream extends Transform {
  private readonly key: Buffer;
  private readonly header: Buffer;
  private readonly noncePrefix: Buffer;
  private readonly queue = new ByteQueue();
  private index = 0;
  private headerSent = false;

  constructor(
    dataKey: Uint8Array,
    private readonly chunkSize: number,
    highWaterMark: number,
  ) {
    super({ readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
    this.key = Buffer.from(dataKey);
    this.noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
    this.header = encodeHeader(chunkSize, this.noncePrefix);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.queue.push(toBuffer(chunk));
      // Only once more bytes follow do we know a full chunk is not the last one.
      while (this.queue.length > this.chunkSize) this.seal(this.queue.take(this.chunkSize), false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.seal(this.queue.takeAll(), true);
      this.key.fill(0);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.key.fill(0);
    callback(err);
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header);
  }

  private seal(parts: Buffer[], last: boolean): void {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceFor(this.noncePrefix, this.index, last), {
      authTagLength: TAG_LENGTH,
    });
    cipher.setAAD(this.header);
    for (const part of parts) this.push(cipher.update(part));
    cipher.final();
    this.push(cipher.getAuthTag());
    this.index++;
  }
}

class DecryptStream extends Transform {
  private readonly key: Buffer;
  private readonly queue = new ByteQueue();
  private header: Buffer | undefined;
  private parsed: ParsedHeader | undefined;
  private index = 0;

  constructor(dataKey: Uint8Array, highWaterMark: number | undefined) {
    super(highWaterMark === undefined ? {} : { readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
    this.key = Buffer.from(dataKey);
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.queue.push(toBuffer(chunk));
      if (!this.parsed) {
        if (this.queue.length < HEADER_LENGTH) return callback();
        this.header = Buffer.concat(this.queue.take(HEADER_LENGTH));
        this.parsed = parseHeader(this.header);
      }
      const sealed = this.parsed.chunkSize + TAG_LENGTH;
      while (this.queue.length > sealed) this.open(this.queue.take(sealed), false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.parsed) throw new IntegrityError('encrypted content is truncated inside its header');
      if (this.queue.length < TAG_LENGTH) throw new IntegrityError('encrypted content is truncated: last chunk missing');
      this.open(this.queue.takeAll(), true);
      this.key.fill(0);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.key.fill(0);
    callback(err);
  }

  private open(parts: Buffer[], last: boolean): void {
    const { noncePrefix } = this.parsed!;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const bodyLength = total - TAG_LENGTH;
    const body: Buffer[] = [];
    const tagParts: Buffer[] = [];
    let offset = 0;
    for (const part of parts) {
      const end = offset + part.length;
      if (end <= bodyLength) body.push(part);
      else if (offset >= bodyLength) tagParts.push(part);
      else {
        body.push(part.subarray(0, bodyLength - offset));
        tagParts.push(part.subarray(bodyLength - offset));
      }
      offset = end;
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonceFor(noncePrefix, this.index, last), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(this.header!);
    decipher.setAuthTag(tagParts.length === 1 ? tagParts[0]! : Buffer.concat(tagParts));
    // Plaintext is held back until final() has verified the tag.
    const plain = body.map((part) => decipher.update(part));
    try {
      decipher.final();
    } catch {
      throw new IntegrityError(
        `chunk ${this.index} failed authentication (tampered, reordered, truncated or wrong key)`,
      );
    }
    for (const p of plain) if (p.length > 0) this.push(p);
    this.index++;
  }
}

/** A Transform turning plaintext into the chunked ciphertext format. Each call uses a fresh nonce prefix. */
export function createEncryptStream(dataKey: Uint8Array, options: EncryptOptions = {}): Transform {
  checkKey(dataKey);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}]`);
  }
  return new EncryptStream(dataKey, chunkSize, options.highWaterMark ?? chunkSize);
}

/**
 * A Transform turning the chunked ciphertext back into plaintext. A chunk's plaintext is pushed only after its
 * tag verified; any failure (including a missing last chunk at end of input) errors the stream with IntegrityError.
 */
export function createDecryptStream(dataKey: Uint8Array, options: { highWaterMark?: number } = {}): Transform {
  checkKey(dataKey);
  return new DecryptStream(dataKey, options.highWaterMark);
}
