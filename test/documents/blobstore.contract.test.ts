import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../server/documents/blobstore.js';
import { BlobNotFoundError, InvalidBlobKeyError } from '../../server/documents/errors.js';
import { FsBlobStore } from '../../server/documents/fs-blobstore.js';
import { collect, failingStream, removeDir, startLocalS3, streamOf, tempDir, toArray, type LocalS3 } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The listing guarantee sweepOrphans relies on: all keys under one folder arrive one after another. */
function expectFoldersContiguous(keys: string[]): void {
  const folders = new Set(keys.flatMap((k) => k.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/') + '/')));
  for (const folder of folders) {
    const at = keys.flatMap((k, i) => (k.startsWith(folder) ? [i] : []));
    expect(at[at.length - 1]! - at[0]!, `keys under ${folder} are not together in ${keys.join(', ')}`).toBe(at.length - 1);
  }
}

interface Fixture {
  store: BlobStore;
  close(): Promise<void>;
}

const fixtures: [string, () => Promise<Fixture>][] = [
  [
    'FsBlobStore',
    async () => {
      const dir = tempDir('fsblob');
      return { store: new FsBlobStore(dir), close: async () => removeDir(dir) };
    },
  ],
  [
    'S3BlobStore (s3rver)',
    async () => {
      const s3: LocalS3 = await startLocalS3();
      return { store: s3.store(), close: () => s3.stop() };
    },
  ],
];

describe.each(fixtures)('blob store contract: %s', (_name, make) => {
  let fx: Fixture;
  let store: BlobStore;
  beforeAll(async () => {
    fx = await make();
    store = fx.store;
  });
  afterAll(() => fx.close());

  it('put streams in and reports size and SHA-256 of the stored bytes; get streams them back', async () => {
    const data = randomBytes(11 * 1024 * 1024 + 17); // above S3 part size: multipart
    const res = await store.put('t/big/blob', streamOf(data, 65_536));
    expect(res).toEqual({ size: data.length, sha256: sha(data) });
    expect((await collect(await store.get('t/big/blob'))).equals(data)).toBe(true);
    expect(await store.head('t/big/blob')).toEqual({ size: data.length });
  });

  it('stores empty and small blobs', async () => {
    expect(await store.put('t/empty', Readable.from([]))).toEqual({ size: 0, sha256: sha(Buffer.alloc(0)) });
    expect((await collect(await store.get('t/empty'))).length).toBe(0);
    await store.put('t/small', Readable.from([Buffer.from('hello')]));
    expect((await collect(await store.get('t/small'))).toString()).toBe('hello');
  });

  it('put replaces an existing blob', async () => {
    await store.put('t/replace', Readable.from([Buffer.from('one')]));
    await store.put('t/replace', Readable.from([Buffer.from('two!')]));
    expect((await collect(await store.get('t/replace'))).toString()).toBe('two!');
  });

  it('missing blobs: get → BlobNotFoundError, head → undefined, delete succeeds', async () => {
    await expect(store.get('t/missing')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.head('t/missing')).toBeUndefined();
    await expect(store.delete('t/missing')).resolves.toBeUndefined();
  });

  it('a failed upload leaves nothing behind, and keeps an older blob under that key intact', async () => {
    await expect(store.put('t/failed', failingStream(7 * 1024 * 1024))).rejects.toThrow('client aborted the upload');
    expect(await store.head('t/failed')).toBeUndefined();
    await expect(store.get('t/failed')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await toArray(store.list('t/failed'))).length).toBe(0);

    await store.put('t/kept', Readable.from([Buffer.from('original')]));
    await expect(store.put('t/kept', failingStream(1000))).rejects.toThrow('client aborted');
    expect((await collect(await store.get('t/kept'))).toString()).toBe('original');
  });

  it('delete removes a blob', async () => {
    await store.put('t/del/x', Readable.from([Buffer.from('x')]));
    await store.delete('t/del/x');
    expect(await store.head('t/del/x')).toBeUndefined();
    expect(await toArray(store.list('t/del/'))).toEqual([]);
  });

  it('list yields blobs under a prefix, each folder\'s keys together, with size and modification time', async () => {
    const before = Date.now() - 2000;
    const keys = ['l/a/b', 'l/a-x', 'l/a/c/d', 'l/ab', 'l/b', 'l/a/c/e', 'lx/other'];
    for (const k of keys) await store.put(k, Readable.from([Buffer.from(k)]));
    const listed = await toArray(store.list('l/'));
    const names = listed.map((i) => i.key);
    expect([...names].sort()).toEqual(['l/a-x', 'l/a/b', 'l/a/c/d', 'l/a/c/e', 'l/ab', 'l/b']);
    expectFoldersContiguous(names);
    for (const item of listed) {
      expect(item.size).toBe(item.key.length);
      expect(item.lastModified.getTime()).toBeGreaterThan(before);
    }
    expect((await toArray(store.list('l/a'))).map((i) => i.key).sort()).toEqual(['l/a-x', 'l/a/b', 'l/a/c/d', 'l/a/c/e', 'l/ab']);
    expect((await toArray(store.list('l/a/'))).map((i) => i.key).sort()).toEqual(['l/a/b', 'l/a/c/d', 'l/a/c/e']);
    expect(await toArray(store.list('nothing/here/'))).toEqual([]);
  });

  it('refuses unsafe keys', async () => {
    for (const key of ['', '../escape', 'a/../../b', 'a//b', '/abs', 'a/./b', 'a b', 'a\\b', 'x/']) {
      await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    }
    expect(() => store.list('../')).toThrow(InvalidBlobKeyError);
  });
});

describe('FsBlobStore specifics', () => {
  it('keeps uploads in progress out of the object tree and cleans up after a failure', async () => {
    const dir = tempDir('fsblob2');
    try {
      const store = new FsBlobStore(dir);
      await expect(store.put('a/b', failingStream(100_000))).rejects.toThrow();
      expect(readdirSync(store.tmpDir)).toEqual([]);
      await store.put('a/b', Readable.from([Buffer.from('ok')]));
      expect(readdirSync(store.tmpDir)).toEqual([]);
      await store.delete('a/b');
      expect(readdirSync(store.objectsDir)).toEqual([]); // empty directories pruned
    } finally {
      removeDir(dir);
    }
  });
});
