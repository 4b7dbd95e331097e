/**
 * Blob store on a local filesystem. Layout under rootDir: `objects/<key>` (key segments become directories)
 * and `tmp/` for uploads in progress, which are renamed into place only after their data is fsynced.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidKey,
  assertValidPrefix,
  HashingPassThrough,
  type BlobInfo,
  type BlobStore,
  type PutResult,
} from './blobstore.js';
import { BlobNotFoundError, BlobStoreError, BlobStoreUnavailableError, InvalidBlobKeyError } from './errors.js';

export interface FsBlobStoreOptions {
  /** Read and write buffer size; 1 MiB measured best for large blobs (bench/blob.ts). */
  highWaterMark?: number;
  /** fsync file data and directories before a put reports success (default true). */
  fsync?: boolean;
}

/** errno codes meaning the storage itself is failing or exhausted, not that the request is wrong. */
const UNAVAILABLE_CODES = new Set([
  'EIO', 'ENOSPC', 'EDQUOT', 'EROFS', 'ENOTCONN', 'ESTALE', 'EHOSTDOWN', 'ETIMEDOUT', 'EMFILE', 'ENFILE',
  'EAGAIN', 'EBUSY', 'ENXIO', 'ENODEV', 'EACCES', 'EPERM',
]);

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function storeError(err: unknown, what: string): BlobStoreError {
  if (err instanceof BlobStoreError) return err;
  const code = codeOf(err);
  const message = `filesystem blob store: ${what} failed${code ? ` (${code})` : ''}`;
  return UNAVAILABLE_CODES.has(code ?? '')
    ? new BlobStoreUnavailableError(message, { cause: err })
    : new BlobStoreError(message, { cause: err });
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

export class FsBlobStore implements BlobStore {
  readonly objectsDir: string;
  readonly tmpDir: string;
  private readonly highWaterMark: number;
  private readonly fsync: boolean;

  constructor(
    readonly rootDir: string,
    options: FsBlobStoreOptions = {},
  ) {
    this.objectsDir = resolve(rootDir, 'objects');
    this.tmpDir = resolve(rootDir, 'tmp');
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.fsync = options.fsync ?? true;
  }

  private pathFor(key: string): string {
    assertValidKey(key);
    const path = join(this.objectsDir, ...key.split('/'));
    // assertValidKey already refuses `..`; this is the belt to those braces.
    if (!path.startsWith(this.objectsDir + sep)) throw new InvalidBlobKeyError(`blob key escapes the store: ${key}`);
    return path;
  }

  async put(key: string, body: Readable): Promise<PutResult> {
    const dest = this.pathFor(key);
    let sourceError: unknown;
    body.once('error', (err) => (sourceError ??= err));
    let tmp: string | undefined;
    try {
      await mkdir(this.tmpDir, { recursive: true });
      tmp = join(this.tmpDir, `${randomUUID()}.part`);
      const hasher = new HashingPassThrough({ highWaterMark: this.highWaterMark });
      // `flush` fsyncs the data before the stream closes, and pipeline waits for that close.
      const out = createWriteStream(tmp, { flags: 'wx', flush: this.fsync, highWaterMark: this.highWaterMark });
      await pipeline(body, hasher, out);
      await this.moveIntoPlace(tmp, dest);
      tmp = undefined;
      return { size: hasher.bytes, sha256: hasher.digest() };
    } catch (err) {
      body.destroy();
      if (err === sourceError || !(codeOf(err) || err instanceof BlobStoreError)) throw err;
      throw storeError(err, `put ${key}`);
    } finally {
      if (tmp) await unlink(tmp).catch(() => undefined);
    }
  }

  private async moveIntoPlace(tmp: string, dest: string): Promise<void> {
    const dir = dirname(dest);
    // A concurrent delete may prune the freshly made directory before the rename: make it again.
    for (let attempt = 0; ; attempt++) {
      const firstCreated = await mkdir(dir, { recursive: true });
      try {
        await rename(tmp, dest);
      } catch (err) {
        if (codeOf(err) === 'ENOENT' && attempt < 3) continue;
        throw err;
      }
      if (this.fsync) {
        await syncDir(dir);
        if (firstCreated) {
          for (let d = dirname(dir); ; d = dirname(d)) {
            await syncDir(d);
            if (d === dirname(firstCreated) || d === this.objectsDir) break;
          }
        }
      }
      return;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathFor(key);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      if (!(await fh.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return fh.createReadStream({ highWaterMark: this.highWaterMark });
    } catch (err) {
      await fh?.close().catch(() => undefined);
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new BlobNotFoundError(key);
      throw storeError(err, `get ${key}`);
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    const path = this.pathFor(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { size: st.size } : undefined;
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw storeError(err, `head ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathFor(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
      throw storeError(err, `delete ${key}`);
    }
    // Prune now-empty directories so listings and the tree stay small.
    for (let dir = dirname(path); dir !== this.objectsDir && dir.startsWith(this.objectsDir + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  list(prefix: string): AsyncIterable<BlobInfo> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    return this.walk(slash >= 0 ? prefix.slice(0, slash) : '', prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<BlobInfo> {
    const dirPath = dirKey ? join(this.objectsDir, ...dirKey.split('/')) : this.objectsDir;
    let entries;
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw storeError(err, `list ${prefix}`);
    }
    // Sorting a directory by name + '/' yields the keys below it in byte order, as S3 lists them.
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && SEGMENT.test(e.name) && e.name !== '.' && e.name !== '..')
      .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const item of items) {
      const key = dirKey ? `${dirKey}/${item.name}` : item.name;
      if (item.dir) {
        const below = `${key}/`;
        if (below.startsWith(prefix) || prefix.startsWith(below)) yield* this.walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        try {
          const st = await stat(join(dirPath, item.name));
          yield { key, size: st.size, lastModified: st.mtime };
        } catch (err) {
          if (codeOf(err) !== 'ENOENT') throw storeError(err, `list ${prefix}`);
        }
      }
    }
  }

  /** Removes upload temp files older than `olderThanMs` (left by a crashed process). Returns how many. */
  async cleanupIncomplete(olderThanMs: number): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return 0;
      throw storeError(err, 'cleanup');
    }
    const cutoff = Date.now() - olderThanMs;
    for (const name of names) {
      const path = join(this.tmpDir, name);
      try {
        if ((await stat(path)).mtimeMs < cutoff) {
          await unlink(path);
          removed++;
        }
      } catch (err) {
        if (codeOf(err) !== 'ENOENT') throw storeError(err, 'cleanup');
      }
    }
    return removed;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
