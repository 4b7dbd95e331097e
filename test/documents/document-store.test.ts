import { createHash, randomBytes } from 'node:crypto';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Readable, Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore, PutResult } from '../../server/documents/blobstore.js';
import { ciphertextSize, DEFAULT_CHUNK_SIZE, HEADER_LENGTH } from '../../server/documents/chunked-aead.js';
import { DocumentStore, recipientKeyName } from '../../server/documents/document-store.js';
import {
  BlobStoreUnavailableError,
  ContentTooLargeError,
  DocumentExistsError,
  IntegrityError,
  NoKeyError,
} from '../../server/documents/errors.js';
import { FsBlobStore } from '../../server/documents/fs-blobstore.js';
import { generateEncryptionKeyPair, unwrapDataKey, type EncryptionKeyPair } from '../../server/documents/key-wrap.js';
import { S3BlobStore } from '../../server/documents/s3-blobstore.js';
import {
  collect,
  collectUntilError,
  deadPort,
  failingStream,
  removeDir,
  startLocalS3,
  streamOf,
  tempDir,
  toArray,
} from './helpers.js';

const C = DEFAULT_CHUNK_SIZE;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let patient: EncryptionKeyPair;
let author: EncryptionKeyPair;
let grantee: EncryptionKeyPair;
beforeAll(async () => {
  [patient, author, grantee] = await Promise.all([
    generateEncryptionKeyPair(),
    generateEncryptionKeyPair(),
    generateEncryptionKeyPair(),
  ]);
});
const P = 'Patient/p1';
const A = 'Practitioner/ryu';
const G = 'Practitioner/lee';
const recipients = () => [
  { id: P, publicJwk: patient.publicJwk },
  { id: A, publicJwk: author.publicJwk },
];

/** Records every byte handed to the real store, to show it never receives plaintext or a raw data key. */
class RecordingStore implements BlobStore {
  readonly seen: Buffer[] = [];
  constructor(private readonly inner: BlobStore) {}
  put(key: string, body: Readable): Promise<PutResult> {
    const seen = this.seen;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen.push(Buffer.from(chunk));
        cb(null, chunk);
      },
    });
    pipeline(body, tap, () => undefined);
    return this.inner.put(key, tap);
  }
  get = (key: string) => this.inner.get(key);
  head = (key: string) => this.inner.head(key);
  delete = (key: string) => this.inner.delete(key);
  list = (prefix: string) => this.inner.list(prefix);
}

const stores: [string, number[], () => Promise<{ blobs: BlobStore; close(): Promise<void> }>][] = [
  [
    'filesystem',
    [0, 1, C - 1, C, C + 1, 3 * 1024 * 1024 + 5],
    async () => {
      const dir = tempDir('docs');
      return { blobs: new FsBlobStore(dir), close: async () => removeDir(dir) };
    },
  ],
  [
    'S3 (s3rver)',
    [0, C + 1, 6 * 1024 * 1024],
    async () => {
      const s3 = await startLocalS3();
      return { blobs: s3.store(), close: () => s3.stop() };
    },
  ],
];

describe.each(stores)('DocumentStore over %s', (_name, sizes, make) => {
  let blobs: BlobStore;
  let docs: DocumentStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ blobs, close } = await make());
    docs = new DocumentStore(blobs);
  });
  afterAll(() => close());

  it.each(sizes)('round trip of %i bytes for every recipient', async (size) => {
    const content = randomBytes(size);
    const stored = await docs.storeDocument({ patient: 'p1', documentId: `size-${size}`, content: streamOf(content, 65_536), recipients: recipients() });
    expect(stored.blobKey).toBe(`documents/p1/size-${size}/content`);
    expect(stored.size).toBe(size);
    expect(stored.storedSize).toBe(ciphertextSize(size));
    const raw = await collect(await blobs.get(stored.blobKey));
    expect(stored.ciphertextSha256).toBe(sha(raw));
    for (const [id, keys] of [[P, patient], [A, author]] as const) {
      const opened = await docs.openDocument({ blobKey: stored.blobKey, expectedSha256: stored.ciphertextSha256, recipient: { id, privateKey: keys.privateJwk } });
      expect(opened.size).toBe(size);
      expect((await collect(opened.stream)).equals(content)).toBe(true);
    }
  });

  it('the blob store sees only ciphertext and wrapped keys, one JWE per recipient at keys/<sha256(id)>.jwe', async () => {
    const recording = new RecordingStore(blobs);
    const content = randomBytes(300_000);
    const stored = await new DocumentStore(recording).storeDocument({ patient: 'p1', documentId: 'secret', content: Readable.from([content]), recipients: recipients() });
    const keyNames = (await toArray(blobs.list('documents/p1/secret/keys/'))).map((i) => i.key).sort();
    expect(keyNames).toEqual([P, A].map((id) => `documents/p1/secret/keys/${sha(Buffer.from(id))}.jwe`).sort());
    expect(keyNames).toContain(recipientKeyName(stored.blobKey, P));
    const jwe = (await collect(await blobs.get(recipientKeyName(stored.blobKey, P)))).toString();
    const dataKey = await unwrapDataKey(jwe, patient.privateJwk);
    const everything = Buffer.concat(recording.seen);
    expect(everything.length).toBeGreaterThan(content.length);
    for (const probe of [content.subarray(0, 32), content.subarray(150_000, 150_032), dataKey]) {
      expect(everything.includes(probe)).toBe(false);
    }
  });

  it('a recipient without a key, or with the wrong private key, gets NoKeyError', async () => {
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'nokey', content: Readable.from([Buffer.from('x')]), recipients: recipients() });
    const open = (id: string, privateKey: EncryptionKeyPair['privateJwk']) =>
      docs.openDocument({ blobKey: stored.blobKey, expectedSha256: stored.ciphertextSha256, recipient: { id, privateKey } });
    await expect(open(G, grantee.privateJwk)).rejects.toMatchObject({ name: 'NoKeyError', reason: 'missing' });
    await expect(open(P, grantee.privateJwk)).rejects.toMatchObject({ name: 'NoKeyError', reason: 'unwrap-failed' });
  });

  it('a ciphertext that does not match the ledger hash fails before any byte is released', async () => {
    const content = randomBytes(3 * C + 10);
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'tamper', content: Readable.from([content]), recipients: recipients() });
    const recipient = { id: P, privateKey: patient.privateJwk };
    // The ledger says something else.
    await expect(docs.openDocument({ blobKey: stored.blobKey, expectedSha256: sha(Buffer.from('other')), recipient })).rejects.toBeInstanceOf(IntegrityError);
    // One byte flipped in the stored blob, in its last chunk: the hash pass catches it before chunk 0 is released.
    const raw = await collect(await blobs.get(stored.blobKey));
    raw[raw.length - 5]! ^= 0x80;
    await blobs.put(stored.blobKey, Readable.from([raw]));
    await expect(docs.openDocument({ blobKey: stored.blobKey, expectedSha256: stored.ciphertextSha256, recipient })).rejects.toThrow(
      /does not match its ledger hash/,
    );
    // Even if the ledger hash were of the tampered bytes, decryption refuses the bad chunk and releases only good ones.
    const opened = await docs.openDocument({ blobKey: stored.blobKey, expectedSha256: sha(raw), recipient });
    const { data, error } = await collectUntilError(opened.stream);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(data.equals(content.subarray(0, 3 * C))).toBe(true);
  });

  it('a tampered header is refused even with a matching hash', async () => {
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'hdr', content: Readable.from([randomBytes(100)]), recipients: recipients() });
    const raw = await collect(await blobs.get(stored.blobKey));
    raw[HEADER_LENGTH - 1]! ^= 1;
    await blobs.put(stored.blobKey, Readable.from([raw]));
    const opened = await docs.openDocument({ blobKey: stored.blobKey, expectedSha256: sha(raw), recipient: { id: A, privateKey: author.privateJwk } });
    const { data, error } = await collectUntilError(opened.stream);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(data.length).toBe(0);
  });

  it('addRecipient lets a grantee read; removeRecipient takes it away; the last key cannot be removed', async () => {
    const content = randomBytes(5000);
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'share', content: Readable.from([content]), recipients: recipients() });
    const asGrantee = { blobKey: stored.blobKey, expectedSha256: stored.ciphertextSha256, recipient: { id: G, privateKey: grantee.privateJwk } };
    await expect(docs.openDocument(asGrantee)).rejects.toBeInstanceOf(NoKeyError);
    await expect(
      docs.addRecipient(stored.blobKey, { id: G, privateKey: grantee.privateJwk }, { id: G, publicJwk: grantee.publicJwk }),
    ).rejects.toBeInstanceOf(NoKeyError);
    await docs.addRecipient(stored.blobKey, { id: P, privateKey: patient.privateJwk }, { id: G, publicJwk: grantee.publicJwk });
    expect(await docs.hasRecipient(stored.blobKey, G)).toBe(true);
    expect((await collect((await docs.openDocument(asGrantee)).stream)).equals(content)).toBe(true);

    expect(await docs.removeRecipient(stored.blobKey, G)).toBe(true);
    expect(await docs.removeRecipient(stored.blobKey, G)).toBe(false);
    await expect(docs.openDocument(asGrantee)).rejects.toBeInstanceOf(NoKeyError);
    expect(await docs.removeRecipient(stored.blobKey, A)).toBe(true);
    await expect(docs.removeRecipient(stored.blobKey, P)).rejects.toThrow(/last recipient/);
  });

  it('a wrapped key copied from another document is refused', async () => {
    const one = await docs.storeDocument({ patient: 'p1', documentId: 'swap-1', content: Readable.from([randomBytes(10)]), recipients: recipients() });
    const two = await docs.storeDocument({ patient: 'p1', documentId: 'swap-2', content: Readable.from([randomBytes(10)]), recipients: recipients() });
    const jweOne = await blobs.get(recipientKeyName(one.blobKey, P));
    await blobs.put(recipientKeyName(two.blobKey, P), jweOne);
    await expect(
      docs.openDocument({ blobKey: two.blobKey, expectedSha256: two.ciphertextSha256, recipient: { id: P, privateKey: patient.privateJwk } }),
    ).rejects.toBeInstanceOf(IntegrityError);
  });

  it('deleteDocument removes the blob and every key, and is idempotent', async () => {
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'gone', content: Readable.from([randomBytes(10)]), recipients: recipients() });
    await docs.deleteDocument(stored.blobKey);
    expect(await toArray(blobs.list('documents/p1/gone/'))).toEqual([]);
    await docs.deleteDocument(stored.blobKey);
  });

  it('documents are immutable: storing the same id twice is refused and the first stays readable', async () => {
    const stored = await docs.storeDocument({ patient: 'p1', documentId: 'once', content: Readable.from([Buffer.from('first')]), recipients: recipients() });
    await expect(
      docs.storeDocument({ patient: 'p1', documentId: 'once', content: Readable.from([Buffer.from('second')]), recipients: recipients() }),
    ).rejects.toBeInstanceOf(DocumentExistsError);
    const opened = await docs.openDocument({ blobKey: stored.blobKey, expectedSha256: stored.ciphertextSha256, recipient: { id: P, privateKey: patient.privateJwk } });
    expect((await collect(opened.stream)).toString()).toBe('first');
  });

  it('an upload that fails midway leaves nothing: no content, no keys', async () => {
    await expect(
      docs.storeDocument({ patient: 'p1', documentId: 'aborted', content: failingStream(6 * 1024 * 1024), recipients: recipients() }),
    ).rejects.toThrow('client aborted the upload');
    expect(await toArray(blobs.list('documents/p1/aborted/'))).toEqual([]);
  });

  it('content over maxBytes is refused, nothing stored, and the caller\'s stream is left undestroyed', async () => {
    const content = streamOf(randomBytes(2 * C), 4096);
    await expect(
      docs.storeDocument({ patient: 'p1', documentId: 'big', content, recipients: recipients(), maxBytes: C }),
    ).rejects.toBeInstanceOf(ContentTooLargeError);
    expect(content.destroyed).toBe(false);
    expect(await toArray(blobs.list('documents/p1/big/'))).toEqual([]);
  });

  it('sweepOrphans removes unreferenced documents and key-only leftovers, and keeps referenced ones', async () => {
    const sweepDocs = new DocumentStore(blobs);
    const make = (id: string) => sweepDocs.storeDocument({ patient: 'sweep', documentId: id, content: Readable.from([randomBytes(100)]), recipients: recipients() });
    const kept = await make('referenced');
    const orphan = await make('orphan');
    const leftover = await make('keys-only');
    await blobs.delete(leftover.blobKey);
    await new Promise((r) => setTimeout(r, 20));
    const asked: string[] = [];
    const result = await sweepDocs.sweepOrphans({
      olderThanMs: 0,
      isReferenced: async (key) => (asked.push(key), key === kept.blobKey || !key.startsWith('documents/sweep/')),
    });
    expect(asked).toContain(kept.blobKey);
    expect(asked).toContain(orphan.blobKey);
    expect(result.removed).toContain(orphan.blobKey);
    expect(result.removed).toContain('documents/sweep/keys-only/keys/');
    expect(result.removed).not.toContain(kept.blobKey);
    expect((await toArray(blobs.list('documents/sweep/'))).map((i) => i.key).every((k) => k.startsWith('documents/sweep/referenced/'))).toBe(true);
    expect(await blobs.head(kept.blobKey)).toBeDefined();
  });
});

describe('DocumentStore specifics', () => {
  it('sweepOrphans leaves recent uploads alone (their ledger write may still be in flight)', async () => {
    const dir = tempDir('sweep');
    try {
      const blobs = new FsBlobStore(dir);
      const docs = new DocumentStore(blobs);
      const fresh = await docs.storeDocument({ patient: 'p', documentId: 'fresh', content: Readable.from([Buffer.from('a')]), recipients: recipients() });
      const old = await docs.storeDocument({ patient: 'p', documentId: 'old', content: Readable.from([Buffer.from('b')]), recipients: recipients() });
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      utimesSync(join(blobs.objectsDir, ...old.blobKey.split('/')), twoHoursAgo, twoHoursAgo);
      const result = await docs.sweepOrphans({ olderThanMs: 3600_000, isReferenced: async () => false });
      expect(result).toEqual({ scanned: 2, removed: [old.blobKey] });
      expect(await blobs.head(fresh.blobKey)).toBeDefined();
    } finally {
      removeDir(dir);
    }
  });

  it('with the S3 store down, storeDocument fails with BlobStoreUnavailableError and leaves the request stream usable', async () => {
    const port = await deadPort();
    const blobs = new S3BlobStore({ endpoint: `http://127.0.0.1:${port}`, bucket: 'b', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 2 });
    try {
      const content = streamOf(randomBytes(10 * 1024 * 1024), 65_536);
      await expect(
        new DocumentStore(blobs).storeDocument({ patient: 'p', documentId: 'd', content, recipients: recipients() }),
      ).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      expect(content.destroyed).toBe(false);
    } finally {
      blobs.destroy();
    }
  });

  it('refuses ids that would not make a safe blob key, and documents without recipients', async () => {
    const docs = new DocumentStore(new FsBlobStore(tempDir('ids')));
    for (const [patientId, documentId] of [['..', 'd'], ['p', 'a/b'], ['', 'd'], ['p', 'x y']]) {
      await expect(docs.storeDocument({ patient: patientId!, documentId: documentId!, content: Readable.from([]), recipients: recipients() })).rejects.toThrow(/invalid/);
    }
    await expect(docs.storeDocument({ patient: 'p', documentId: 'd', content: Readable.from([]), recipients: [] })).rejects.toThrow(/recipient/);
  });
});
