import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobStoreError, BlobStoreUnavailableError } from '../../server/documents/errors.js';
import { S3BlobStore } from '../../server/documents/s3-blobstore.js';
import { collect, deadPort, startLocalS3, toArray } from './helpers.js';

describe('S3BlobStore when the store is down', () => {
  it('every operation fails with BlobStoreUnavailableError (the FHIR layer answers 503)', async () => {
    const port = await deadPort();
    const store = new S3BlobStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'b',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    try {
      const body = Readable.from([Buffer.from('content')]);
      await expect(store.put('a/b', body)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(store.get('a/b')).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(store.head('a/b')).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(store.delete('a/b')).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(toArray(store.list('a/'))).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    } finally {
      store.destroy();
    }
  });

  it('a store that goes down after being used reports unavailable', async () => {
    const s3 = await startLocalS3();
    const store = s3.store({ maxAttempts: 1 });
    await store.put('x/y', Readable.from([Buffer.from('before')]));
    await s3.stop();
    await expect(store.head('x/y')).rejects.toBeInstanceOf(BlobStoreUnavailableError);
  });

  it('a missing bucket is a configuration error, not "unavailable" and not "not found"', async () => {
    const s3 = await startLocalS3();
    try {
      const store = new S3BlobStore({
        endpoint: s3.endpoint,
        bucket: 'no-such-bucket',
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      const err = await store.get('a/b').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BlobStoreError);
      expect(err).not.toBeInstanceOf(BlobStoreUnavailableError);
      expect((err as Error).name).toBe('BlobStoreError');
      await store.ensureBucket();
      await store.put('a/b', Readable.from([Buffer.from('now there')]));
      expect((await collect(await store.get('a/b'))).toString()).toBe('now there');
      store.destroy();
    } finally {
      await s3.stop();
    }
  });
});
