/**
 * Blob store on S3 (or any S3-protocol server). Uploads stream through lib-storage's multipart Upload, which
 * makes the object visible only on completion and aborts the parts on failure; a bucket lifecycle rule
 * (AbortIncompleteMultipartUpload) cleans parts an aborted abort left behind.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import {
  assertValidKey,
  assertValidPrefix,
  HashingPassThrough,
  type BlobInfo,
  type BlobStore,
  type PutResult,
} from './blobstore.js';
import { BlobNotFoundError, BlobStoreError, BlobStoreUnavailableError } from './errors.js';

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  /** e.g. http://127.0.0.1:9000 for an S3-compatible server; omit for AWS. */
  endpoint?: string;
  /** Omit to use the SDK's default provider chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Multipart part size in bytes (≥ 5 MiB). Memory held per upload is about partSize × queueSize. */
  partSize?: number;
  /** Parts uploaded concurrently. */
  queueSize?: number;
  /** SDK attempts per request, including the first (default 3). */
  maxAttempts?: number;
  /** TCP connect timeout in ms (default 5000). */
  connectionTimeoutMs?: number;
  /** Socket inactivity timeout in ms (default: none, so long downloads to slow readers survive). */
  requestTimeoutMs?: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'ENOTFOUND', 'EPIPE', 'ECONNABORTED', 'EHOSTDOWN',
]);
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'SlowDown',
  'InternalError', 'ThrottlingException', 'Throttling', 'TooManyRequestsException',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

function isUnavailable(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  // Dual-stack connects report an AggregateError of per-address failures.
  return Array.isArray(e.errors) && e.errors.some(isUnavailable);
}

function isNotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorShape;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.name !== 'NoSuchBucket' && e.$metadata?.httpStatusCode === 404);
}

function storeError(err: unknown, what: string): BlobStoreError {
  if (err instanceof BlobStoreError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const detail = e.name ?? e.code ?? 'error';
  const message = `S3 blob store: ${what} failed (${detail}${e.$metadata?.httpStatusCode ? ` ${e.$metadata.httpStatusCode}` : ''})`;
  return isUnavailable(err)
    ? new BlobStoreUnavailableError(message, { cause: err })
    : new BlobStoreError(message, { cause: err });
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    this.queueSize = options.queueSize ?? 4;
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5000,
        ...(options.requestTimeoutMs !== undefined ? { requestTimeout: options.requestTimeoutMs } : {}),
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.client = new S3Client(config);
  }

  /** Creates the bucket unless it exists (for the demo network and tests; production buckets are provisioned). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNotFound(err) && (err as SdkErrorShape).name !== 'NoSuchBucket') throw storeError(err, 'head bucket');
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as SdkErrorShape).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw storeError(err, 'create bucket');
    }
  }

  async put(key: string, body: Readable): Promise<PutResult> {
    assertValidKey(key);
    let sourceError: unknown;
    body.once('error', (err) => (sourceError ??= err));
    const hasher = new HashingPassThrough();
    pipeline(body, hasher, () => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: hasher, ContentType: 'application/octet-stream' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      hasher.destroy();
      body.destroy();
      if (sourceError !== undefined) throw sourceError;
      throw storeError(err, `put ${key}`);
    }
    if (sourceError !== undefined) throw sourceError;
    return { size: hasher.bytes, sha256: hasher.digest() };
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(res.Body instanceof Readable)) throw new BlobStoreError('S3 blob store: response body is not a stream');
      return res.Body;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      throw storeError(err, `get ${key}`);
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storeError(err, `head ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw storeError(err, `delete ${key}`);
    }
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    assertValidPrefix(prefix);
    return this.listPages(prefix);
  }

  private async *listPages(prefix: string): AsyncGenerator<BlobInfo> {
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw storeError(err, `list ${prefix}`);
      }
      for (const obj of res.Contents ?? []) {
        if (obj.Key === undefined) continue;
        yield { key: obj.Key, size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  destroy(): void {
    this.client.destroy();
  }
}
