import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import { S3BlobStore } from '../../server/documents/s3-blobstore.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `consentry-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Streams `data` in pieces of `piece` bytes (to exercise chunk boundaries that do not line up). */
export function streamOf(data: Buffer, piece = 7919): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + piece));
      offset += piece;
    },
  });
}

/** A body that yields `before` bytes, then fails as an aborted client upload would. */
export function failingStream(before: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(before));
      } else {
        this.destroy(new Error('client aborted the upload'));
      }
    },
  });
}

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/**
 * Collects what a stream released before it failed, and the failure. Uses 'data' events, since an async
 * iterator drops chunks still buffered when the stream errors, which would hide a premature release.
 */
export function collectUntilError(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.once('error', (error) => resolve({ data: Buffer.concat(parts), error }));
    stream.once('end', () => resolve({ data: Buffer.concat(parts), error: undefined }));
  });
}

export async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  store(options?: { maxAttempts?: number }): S3BlobStore;
  stop(): Promise<void>;
}

/** Starts s3rver (a pure-JS S3-protocol server) on a loopback port with one empty bucket. */
export async function startLocalS3(bucket = 'consentry-test'): Promise<LocalS3> {
  const dir = tempDir('s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const stores: S3BlobStore[] = [];
  return {
    endpoint,
    bucket,
    store(options = {}) {
      const s = new S3BlobStore({
        endpoint,
        bucket,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        partSize: 5 * 1024 * 1024,
        ...options,
      });
      stores.push(s);
      return s;
    },
    async stop() {
      for (const s of stores) s.destroy();
      await server.close();
      removeDir(dir);
    },
  };
}

/** A loopback port with nothing listening: a store that is down. */
export async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
