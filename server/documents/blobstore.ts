/**
 * The blob store interface: opaque bytes under string keys, streamed both ways, never buffered whole.
 * Implementations: FsBlobStore (fs-blobstore.ts) and S3BlobStore (s3-blobstore.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { InvalidBlobKeyError } from './errors.js';

export interface PutResult {
  /** Bytes stored. */
  size: number;
  /** Lowercase hex SHA-256 of the stored bytes, computed while streaming. */
  sha256: string;
}

export interface BlobInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface BlobStore {
  /**
   * Streams `body` into `key`, replacing any blob there. The blob becomes visible only complete: a body that
   * errors, or a store failure, leaves the previous state (nothing, for a new key).
   */
  put(key: string, body: Readable): Promise<PutResult>;
  /** Opens the blob for reading. Missing → BlobNotFoundError. */
  get(key: string): Promise<Readable>;
  head(key: string): Promise<{ size: number } | undefined>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Every blob whose key starts with `prefix` (plain string prefix). Keys sharing a prefix that ends in `/` are
   * listed one after another (S3 and FsBlobStore list in byte order; some S3-compatible servers only group).
   */
  list(prefix: string): AsyncIterable<BlobInfo>;
}

/** Longest key accepted (S3 allows 1024 bytes; keys here are ASCII). */
export const MAX_KEY_LENGTH = 1024;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Keys are `/`-separated segments of [A-Za-z0-9._-], none empty, `.` or `..`. This keeps them identical on
 * every store and makes the filesystem mapping safe.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidBlobKeyError(`invalid blob key length: ${JSON.stringify(key)}`);
  }
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new InvalidBlobKeyError(`invalid blob key: ${JSON.stringify(key)}`);
    }
  }
}

/** A prefix is a key possibly cut anywhere: it may end in `/` or a partial segment, or be empty. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  if (prefix.length > MAX_KEY_LENGTH) throw new InvalidBlobKeyError('blob key prefix too long');
  const segments = prefix.split('/');
  segments.forEach((segment, i) => {
    const isLast = i === segments.length - 1;
    if (isLast && segment === '') return;
    if (!SEGMENT.test(segment) || (!isLast && (segment === '.' || segment === '..'))) {
      throw new InvalidBlobKeyError(`invalid blob key prefix: ${JSON.stringify(prefix)}`);
    }
  });
}

/** Pass-through that counts bytes and hashes them with SHA-256 as they flow. */
export class HashingPassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private hex: string | undefined;
  bytes = 0;

  constructor(options: { highWaterMark?: number } = {}) {
    super(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** Hex digest; valid once the stream has ended. */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}
