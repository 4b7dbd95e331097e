/**
 * Encrypted documents over a blob store: what the FHIR layer's Binary and DocumentReference handlers call.
 *
 * Layout: `documents/<patient>/<documentId>/content` holds the chunked ciphertext (chunked-aead.ts) and
 * `documents/<patient>/<documentId>/keys/<sha256(recipient id) hex>.jwe` one wrapped data key per recipient.
 * The blob store only ever sees ciphertext and wrapped keys. `<patient>` ends up on the ledger inside the blob
 * key, so callers pass a pseudonym or another non-identifying id, never a name or MRN.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream';
import type { BlobStore } from './blobstore.js';
import {
  createDecryptStream,
  createEncryptStream,
  DEFAULT_CHUNK_SIZE,
  generateDataKey,
  HEADER_LENGTH,
  parseHeader,
  plaintextSize,
} from './chunked-aead.js';
import {
  BlobNotFoundError,
  ContentTooLargeError,
  DocumentExistsError,
  IntegrityError,
  InvalidBlobKeyError,
  NoKeyError,
} from './errors.js';
import { unwrapDataKey, wrapDataKey, type Recipient, type RecipientPrivate } from './key-wrap.js';
import { readSmall } from './read-small.js';

export interface StoreDocumentInput {
  patient: string;
  documentId: string;
  content: Readable;
  recipients: Recipient[];
  /** Refuse content longer than this many bytes (ContentTooLargeError; nothing is stored). */
  maxBytes?: number;
}

export interface StoredDocument {
  blobKey: string;
  /** Hex SHA-256 of the stored ciphertext: the value for the ledger's DocumentMeta.ciphertextSha256. */
  ciphertextSha256: string;
  /** Plaintext bytes. */
  size: number;
  /** Ciphertext bytes in the blob store. */
  storedSize: number;
}

export interface OpenDocumentInput {
  blobKey: string;
  /** The ledger's DocumentMeta.ciphertextSha256 (hex). */
  expectedSha256: string;
  recipient: RecipientPrivate;
}

export interface SweepResult {
  /** Documents (content blobs) examined. */
  scanned: number;
  /** Blob keys of removed documents, plus key-only leftovers (their document prefix + '/keys/'). */
  removed: string[];
}

export interface DocumentStoreOptions {
  chunkSize?: number;
}

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const BLOB_KEY = /^documents\/([A-Za-z0-9._-]{1,128})\/([A-Za-z0-9._-]{1,128})\/content$/;
const CONTENT_SUFFIX = '/content';

function checkId(what: string, id: string): void {
  if (!ID.test(id) || id === '.' || id === '..') throw new InvalidBlobKeyError(`invalid ${what}: ${JSON.stringify(id)}`);
}

function documentPrefix(blobKey: string): string {
  if (!BLOB_KEY.test(blobKey)) throw new InvalidBlobKeyError(`not a document blob key: ${JSON.stringify(blobKey)}`);
  return blobKey.slice(0, -CONTENT_SUFFIX.length);
}

export function recipientKeyName(blobKey: string, recipientId: string): string {
  return `${documentPrefix(blobKey)}/keys/${createHash('sha256').update(recipientId, 'utf8').digest('hex')}.jwe`;
}


/** Counts plaintext bytes and enforces the caller's size limit. */
class CountingPassThrough extends Transform {
  bytes = 0;

  constructor(private readonly limit: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.limit !== undefined && this.bytes > this.limit) return callback(new ContentTooLargeError(this.limit));
    callback(null, chunk);
  }
}

/** Compares the running hash at end of input; errors instead of ending when the bytes are not the expected ones. */
class VerifyingPassThrough extends Transform {
  private readonly hasher = createHash('sha256');

  constructor(private readonly expected: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hasher.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hasher.digest('hex');
    callback(actual === this.expected ? null : new IntegrityError('stored content changed while it was being read'));
  }
}

export class DocumentStore {
  private readonly chunkSize: number;

  constructor(
    readonly blobs: BlobStore,
    options: DocumentStoreOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  static blobKeyFor(patient: string, documentId: string): string {
    checkId('patient', patient);
    checkId('document id', documentId);
    return `documents/${patient}/${documentId}/content`;
  }

  /**
   * Encrypts `content` while streaming it into the store, then stores one wrapped key per recipient. An existing
   * document under the same id → DocumentExistsError. On any
   * failure everything written is removed and the error rethrown; `content` is then unpiped and paused but
   * never destroyed, so an HTTP handler can still answer on the same connection.
   */
  async storeDocument(input: StoreDocumentInput): Promise<StoredDocument> {
    const blobKey = DocumentStore.blobKeyFor(input.patient, input.documentId);
    if (input.recipients.length === 0) throw new TypeError('a document needs at least one recipient');
    // Documents are immutable: a second write would pair old wrapped keys with new content.
    if (await this.blobs.head(blobKey)) throw new DocumentExistsError(blobKey);
    const dataKey = generateDataKey();
    const written: string[] = [];
    try {
      // Wrapping first refuses bad recipient keys before any byte is uploaded.
      const wrapped = await Promise.all(
        input.recipients.map(async (r) => ({
          name: recipientKeyName(blobKey, r.id),
          jwe: await wrapDataKey(dataKey, r, { document: blobKey }),
        })),
      );
      const counter = new CountingPassThrough(input.maxBytes);
      const encrypt = createEncryptStream(dataKey, { chunkSize: this.chunkSize });
      const onContentError = (err: Error) => counter.destroy(err);
      input.content.once('error', onContentError);
      input.content.pipe(counter);
      pipeline(counter, encrypt, () => undefined);
      written.push(blobKey);
      let stored;
      try {
        stored = await this.blobs.put(blobKey, encrypt);
      } finally {
        input.content.off('error', onContentError);
        input.content.unpipe(counter);
      }
      for (const { name, jwe } of wrapped) {
        written.push(name);
        await this.blobs.put(name, Readable.from([Buffer.from(jwe, 'utf8')]));
      }
      return { blobKey, ciphertextSha256: stored.sha256, size: counter.bytes, storedSize: stored.size };
    } catch (err) {
      await this.removeQuietly(written);
      throw err;
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Opens a document for `recipient`: unwraps its data key (NoKeyError), verifies the whole stored ciphertext
   * against `expectedSha256` (IntegrityError before any byte is released), then streams the decrypted content.
   * The decrypting pass re-hashes and withholds the last chunk unless the hash still matches.
   */
  async openDocument(input: OpenDocumentInput): Promise<{ size: number; stream: Readable }> {
    const { blobKey, recipient } = input;
    const expected = input.expectedSha256.toLowerCase();
    const dataKey = await this.unwrapFor(blobKey, recipient);
    try {
      const { sha256, header, storedSize } = await this.hashPass(blobKey);
      if (sha256 !== expected) throw new IntegrityError(`stored content of ${blobKey} does not match its ledger hash`);
      const { chunkSize } = parseHeader(header);
      const size = plaintextSize(storedSize, chunkSize);
      const source = await this.blobs.get(blobKey);
      const decrypt = createDecryptStream(dataKey);
      const stream = pipeline(source, new VerifyingPassThrough(expected), decrypt, () => undefined);
      return { size, stream };
    } finally {
      dataKey.fill(0);
    }
  }

  async addRecipient(blobKey: string, existing: RecipientPrivate, added: Recipient): Promise<void> {
    const dataKey = await this.unwrapFor(blobKey, existing);
    try {
      const jwe = await wrapDataKey(dataKey, added, { document: blobKey });
      await this.blobs.put(recipientKeyName(blobKey, added.id), Readable.from([Buffer.from(jwe, 'utf8')]));
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Removes a recipient's wrapped key. Returns false if it had none. Refuses to remove the last one, which would
   * make the content unreadable for everyone (use deleteDocument to erase).
   */
  async removeRecipient(blobKey: string, recipientId: string): Promise<boolean> {
    const name = recipientKeyName(blobKey, recipientId);
    if (!(await this.blobs.head(name))) return false;
    let others = 0;
    for await (const item of this.blobs.list(`${documentPrefix(blobKey)}/keys/`)) if (item.key !== name) others++;
    if (others === 0) throw new Error('refusing to remove the last recipient of a document; delete the document instead');
    await this.blobs.delete(name);
    return true;
  }

  async hasRecipient(blobKey: string, recipientId: string): Promise<boolean> {
    return (await this.blobs.head(recipientKeyName(blobKey, recipientId))) !== undefined;
  }

  /** Deletes the content first (so the document is gone at once), then every wrapped key. Idempotent. */
  async deleteDocument(blobKey: string): Promise<void> {
    const prefix = documentPrefix(blobKey);
    await this.blobs.delete(blobKey);
    const keys: string[] = [];
    for await (const item of this.blobs.list(`${prefix}/keys/`)) keys.push(item.key);
    for (const key of keys) await this.blobs.delete(key);
  }

  /**
   * Removes documents that the ledger does not reference and that are older than `olderThanMs` (so uploads whose
   * ledger write is still in flight are left alone), plus wrapped keys left without content. Relies on the blob
   * store listing keys in byte order, so one document's blobs arrive together.
   */
  async sweepOrphans(options: {
    olderThanMs: number;
    isReferenced: (blobKey: string) => Promise<boolean>;
  }): Promise<SweepResult> {
    const cutoff = Date.now() - options.olderThanMs;
    const result: SweepResult = { scanned: 0, removed: [] };
    let group: { prefix: string; content?: Date; newestKey?: Date } | undefined;

    const settle = async (): Promise<void> => {
      if (!group) return;
      const g = group;
      group = undefined;
      const blobKey = `${g.prefix}${CONTENT_SUFFIX}`;
      if (g.content) {
        result.scanned++;
        if (g.content.getTime() < cutoff && !(await options.isReferenced(blobKey))) {
          await this.deleteDocument(blobKey);
          result.removed.push(blobKey);
        }
      } else if (g.newestKey && g.newestKey.getTime() < cutoff) {
        await this.deleteDocument(blobKey);
        result.removed.push(`${g.prefix}/keys/`);
      }
    };

    // Deleting while listing is safe for both stores: each deletion only touches the group already listed.
    for await (const item of this.blobs.list('documents/')) {
      const m = /^(documents\/[^/]+\/[^/]+)\/(content|keys\/[^/]+)$/.exec(item.key);
      if (!m) continue;
      const prefix = m[1]!;
      if (group?.prefix !== prefix) {
        await settle();
        group = { prefix };
      }
      if (m[2] === 'content') group.content = item.lastModified;
      else if (!group.newestKey || item.lastModified > group.newestKey) group.newestKey = item.lastModified;
    }
    await settle();
    const cleanup = (this.blobs as { cleanupIncomplete?: (ms: number) => Promise<number> }).cleanupIncomplete;
    if (cleanup) await cleanup.call(this.blobs, options.olderThanMs);
    return result;
  }

  private async unwrapFor(blobKey: string, recipient: RecipientPrivate): Promise<Buffer> {
    let jwe: string;
    try {
      jwe = await readSmall(await this.blobs.get(recipientKeyName(blobKey, recipient.id)), 64 * 1024, 'wrapped key blob');
    } catch (err) {
      if (err instanceof BlobNotFoundError) {
        throw new NoKeyError(`no wrapped key for this recipient on ${blobKey}`, 'missing');
      }
      throw err;
    }
    return unwrapDataKey(jwe, recipient.privateKey, { document: blobKey });
  }

  /** First pass over the stored ciphertext: its SHA-256, length and header, without keeping the bytes. */
  private async hashPass(blobKey: string): Promise<{ sha256: string; header: Buffer; storedSize: number }> {
    const source = await this.blobs.get(blobKey);
    const hash = createHash('sha256');
    const head: Buffer[] = [];
    let headLength = 0;
    let storedSize = 0;
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      hash.update(buf);
      storedSize += buf.length;
      if (headLength < HEADER_LENGTH) {
        head.push(buf.subarray(0, HEADER_LENGTH - headLength));
        headLength += Math.min(buf.length, HEADER_LENGTH - headLength);
      }
    }
    return { sha256: hash.digest('hex'), header: Buffer.concat(head), storedSize };
  }

  private async removeQuietly(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.blobs.delete(key);
      } catch {
        // The store is failing; sweepOrphans removes what is left once it is back.
      }
    }
  }
}
