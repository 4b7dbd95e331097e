import crypto, { type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { decodeProtectedHeader, type JWK } from 'jose';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import type { Database } from '../db/database.js';
import { BlobNotFoundError, generateEncryptionKeyPair, NoKeyError, readSmall, recipientKeyName, samePublicKey, unwrapDataKey, wrapDataKey, type DocumentStore, type Recipient } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import { FhirError, forbidden, notFound } from '../fhir/outcome.js';
import type { LedgerClient } from '../ledger/index.js';
import { vaultContext } from '../membership/key-vault.js';
import type { PatientDirectory } from '../membership/patients.js';
import { forEachBounded } from './bounded.js';
import type { GranteeKeys } from './grantee-keys.js';
import type { KeyHolders } from './key-holders.js';
import { settle } from './ledger-read.js';
import { requirePatientOwner } from './patient-owner.js';

// blob store round trips and two ECDH operations per document; more in flight only queues on the 2 cores
const PARALLEL_REWRAPS = 16;
const MAX_WRAPPED_KEY_BYTES = 64 * 1024;

export interface PatientKeyRotation {
  /** wrapped keys of the patient's documents (and their own unbound uploads) now wrapped for the new key */
  rewrapped: number;
  /** documents the patient held no wrapped key for (or one that opened with neither key) */
  skipped: number;
}

export interface DocumentKeyRotation {
  document: DocumentMeta;
  previousCiphertextSha256: string;
  recipients: string[];
}

/** hospital_keys row holding a patient's next key while a rotation is under way (resumed if it is interrupted) */
const pendingKeyName = (pseudonym: string) => `patient-key-rotation/${pseudonym}`;

/**
 * Key compromise (DESIGN §6): a patient's encryption key is replaced and every data key wrapped for it is
 * rewrapped for the new one; a document's data key is replaced by re-encrypting its content into a new blob.
 * Both run at the patient's home hospital, which holds the patient's private key.
 */
export class KeyRotation {
  constructor(
    private readonly deps: {
      db: Database;
      ledger: LedgerClient;
      documents: DocumentStore;
      keys: KeyHolders;
      patients: PatientDirectory;
      granteeKeys?: GranteeKeys;
      log: (msg: string) => void;
    },
  ) {}

  /**
   * New key pair → published on the ledger (one RegisterPatient) → every wrapped key rewrapped → the old private key
   * destroyed. The new key is stored first, so an interrupted rotation is finished by the next call and the old
   * key is kept until nothing needs it any more.
   */
  async rotatePatientKeys(ctx: RequestContext, patientId: string): Promise<PatientKeyRotation> {
    const { db, ledger } = this.deps;
    const { pseudonym, record } = await requirePatientOwner(ctx, db, this.deps.patients, patientId);
    if (record.status !== 'active') throw new FhirError(410, 'deleted', `Patient/${patientId} is erased`);
    const current = await patientKeyRow(db, pseudonym);
    const oldJwk = current && (await this.deps.keys.privateKeyOf(pseudonym));
    if (!current || !oldJwk) throw new FhirError(409, 'conflict', `this hospital holds no encryption key for Patient/${patientId}`);
    const next = await this.pendingKey(pseudonym);

    if (!samePublicKey(record.encryptionKey as JWK, next.publicJwk)) {
      const committed = await ledger.consentry.registerPatient(ctx.caller.ledgerUser, { pseudonym, encryptionKey: next.publicJwk as never });
      await settle(ctx, ledger.projection, committed.blockNumber);
    }
    // documents wrapped meanwhile for the old key (read from a replica that had not seen the new one) are caught by the second pass
    const oldKey = crypto.createPrivateKey({ key: oldJwk as crypto.JsonWebKey, format: 'jwk' });
    const newKey = crypto.createPrivateKey({ key: next.privateJwk as crypto.JsonWebKey, format: 'jwk' });
    const recipient: Recipient = { id: pseudonym, publicJwk: next.publicJwk };
    const result: PatientKeyRotation = { rewrapped: 0, skipped: 0 };
    const done = new Set<string>();
    for (let pass = 0; pass < 2; pass++) {
      const blobs = (await this.patientBlobs(pseudonym)).filter((b) => !done.has(b));
      await forEachBounded(blobs, PARALLEL_REWRAPS, async (blobKey) => {
        const outcome = await this.rewrap(blobKey, oldKey, newKey, recipient);
        done.add(blobKey);
        if (outcome === 'rewrapped') result.rewrapped++;
        else if (outcome !== 'already') result.skipped++;
      });
    }
    const sealed = await this.deps.keys.vault.sealJwk(next.privateJwk, vaultContext.userEncryptionKey(current.username));
    await db.transaction(async (tx) => {
      await tx.query('UPDATE users SET encryption_public_jwk = $2, encryption_key_sealed = $3 WHERE pseudonym = $1', [pseudonym, JSON.stringify(next.publicJwk), sealed]);
      await tx.query('DELETE FROM hospital_keys WHERE name = $1', [pendingKeyName(pseudonym)]);
      // a grantee sync that ran meanwhile opened data keys with the old private key and may have skipped some: run them again
      await tx.query(
        `INSERT INTO grantee_key_tasks (patient, grantee_kind, grantee_id, due_at)
         SELECT DISTINCT patient, grantee_kind, grantee_id, now() FROM ledger_permissions WHERE patient = $1 AND status = 'active' AND grantee_kind IN ('practitioner', 'organization')
         ON CONFLICT (patient, grantee_kind, grantee_id) DO UPDATE SET due_at = LEAST(grantee_key_tasks.due_at, EXCLUDED.due_at), requested_at = clock_timestamp()`,
        [pseudonym],
      );
    });
    return result;
  }

  /**
   * Re-encrypts one document under a fresh data key into a new blob, wrapped for the same recipients, then moves the
   * ledger record to it (RotateDocumentKey: new blob and hash, same id). The old blob is deleted only after the
   * commit, so any failure before it leaves the document as it was.
   */
  async rotateDocumentKey(ctx: RequestContext, documentId: string): Promise<DocumentKeyRotation> {
    const { db, ledger, documents, keys } = this.deps;
    const { caller } = ctx;
    if (caller.role !== 'patient' && caller.role !== 'admin') throw forbidden('only the patient or an admin of their home hospital may rotate a document key');
    const { rows } = await db.query<{ record: DocumentMeta }>(`SELECT record FROM ledger_documents WHERE id = $1 AND status <> 'erased'`, [documentId]);
    const meta = rows[0]?.record;
    // another patient's document looks like a missing one
    if (!meta || (caller.role === 'patient' && caller.pseudonym !== meta.patient)) throw notFound('DocumentReference', documentId);
    await requirePatientOwner(ctx, db, this.deps.patients, meta.patient);
    const holder = await keys.holderFor(documents, meta);
    const recipients = await this.currentRecipients(meta.blob);
    const opened = await documents.openDocument({ blobKey: meta.blob, expectedSha256: meta.ciphertextSha256, recipient: holder });
    let stored;
    try {
      stored = await documents.storeDocument({ patient: meta.patient, documentId: `${meta.id}.k${crypto.randomBytes(6).toString('hex')}`, content: opened.stream, recipients });
    } finally {
      opened.stream.destroy();
    }
    let rotated: DocumentMeta;
    try {
      if (stored.size !== meta.size) throw new FhirError(500, 'exception', `document ${meta.id} decrypted to ${stored.size} bytes, the ledger says ${meta.size}`);
      const committed = await ledger.transactions.submit(ctx.caller.ledgerUser, 'RotateDocumentKey', [meta.patient, meta.id, JSON.stringify({ blob: stored.blobKey, ciphertextSha256: stored.ciphertextSha256, size: stored.size })]);
      rotated = (JSON.parse(Buffer.from(committed.result).toString('utf8')) as { document: DocumentMeta }).document;
      await settle(ctx, ledger.projection, committed.blockNumber);
    } catch (err) {
      await documents.deleteDocument(stored.blobKey).catch(() => undefined); // else the orphan sweep removes it
      throw err;
    }
    await db.query('UPDATE binaries SET blob_key = $2, ciphertext_sha256 = $3 WHERE document_id = $1', [meta.id, stored.blobKey, stored.ciphertextSha256]);
    try {
      await documents.deleteDocument(meta.blob);
    } catch (err) {
      this.deps.log(`old blob of document ${meta.id} not deleted (the orphan sweep will): ${err instanceof Error ? err.message : err}`);
    }
    // a grant or revoke that committed while the content was copied
    await this.deps.granteeKeys?.afterDocumentAdded(rotated, ctx.caller, recipients.map((r) => r.id));
    return { document: rotated, previousCiphertextSha256: meta.ciphertextSha256, recipients: recipients.map((r) => r.id) };
  }

  private async pendingKey(pseudonym: string): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
    const { db } = this.deps;
    const { vault } = this.deps.keys;
    const name = pendingKeyName(pseudonym);
    const fresh = await generateEncryptionKeyPair();
    await db.query(`INSERT INTO hospital_keys (name, public_jwk, private_key_sealed) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, [name, JSON.stringify(fresh.publicJwk), await vault.sealJwk(fresh.privateJwk, vaultContext.hospitalKey(name))]);
    const { rows } = await db.query<{ public_jwk: JWK; private_key_sealed: string }>('SELECT public_jwk, private_key_sealed FROM hospital_keys WHERE name = $1', [name]);
    const privateJwk = await vault.openJwk(rows[0].private_key_sealed, vaultContext.hospitalKey(name));
    return { publicJwk: rows[0].public_jwk, privateJwk };
  }

  /** Content blobs holding a key wrapped for the patient: their documents (any status but erased) and their own unbound uploads. */
  private async patientBlobs(pseudonym: string): Promise<string[]> {
    const { rows } = await this.deps.db.query<{ blob: string }>(
      `SELECT record ->> 'blob' AS blob FROM ledger_documents WHERE patient = $1 AND status <> 'erased'
       UNION SELECT b.blob_key FROM binaries b JOIN users u ON u.username = b.uploader WHERE u.pseudonym = $1 AND b.document_id IS NULL`,
      [pseudonym],
    );
    return rows.map((r) => r.blob);
  }

  /**
   * Unwraps with the old key and wraps for the new one, in place. A key that opens only with the new one was rewrapped
   * already (an interrupted or concurrent rotation); one that opens with neither is left as it is (it was no use to the
   * patient before either).
   */
  private async rewrap(blobKey: string, oldKey: KeyObject, newKey: KeyObject, recipient: Recipient): Promise<'rewrapped' | 'missing' | 'already' | 'unopenable'> {
    const { blobs } = this.deps.documents;
    const name = recipientKeyName(blobKey, recipient.id);
    let jwe: string;
    try {
      jwe = await readSmall(await blobs.get(name), MAX_WRAPPED_KEY_BYTES, 'a wrapped key blob');
    } catch (err) {
      if (err instanceof BlobNotFoundError) return 'missing';
      throw err;
    }
    let dataKey: Buffer;
    try {
      dataKey = await unwrapDataKey(jwe, oldKey, { document: blobKey });
    } catch (err) {
      if (!(err instanceof NoKeyError)) throw err;
      try {
        (await unwrapDataKey(jwe, newKey, { document: blobKey })).fill(0);
        return 'already';
      } catch (again) {
        if (!(again instanceof NoKeyError)) throw again;
        this.deps.log(`${blobKey}: the patient's wrapped key opens with neither the old nor the new key; left as it is`);
        return 'unopenable';
      }
    }
    try {
      const wrapped = await wrapDataKey(dataKey, recipient, { document: blobKey });
      await blobs.put(name, Readable.from([Buffer.from(wrapped, 'utf8')]));
      return 'rewrapped';
    } finally {
      dataKey.fill(0);
    }
  }

  /** Who the document's data key is wrapped for now (the `kid` of each wrapped key), with their public keys from the ledger. */
  private async currentRecipients(blobKey: string): Promise<Recipient[]> {
    const { documents, keys } = this.deps;
    const prefix = recipientKeyName(blobKey, 'x').replace(/[^/]+$/, '');
    const recipients: Recipient[] = [];
    for await (const item of documents.blobs.list(prefix)) {
      const kid = decodeProtectedHeader(await readSmall(await documents.blobs.get(item.key), MAX_WRAPPED_KEY_BYTES, 'a wrapped key blob')).kid;
      if (typeof kid !== 'string') continue;
      const publicJwk = await keys.publicKeyOf(kid);
      if (publicJwk) recipients.push({ id: kid, publicJwk });
      else this.deps.log(`document blob ${blobKey}: recipient ${kid} has no encryption key on the ledger any more; not wrapped again`);
    }
    if (recipients.length === 0) throw new FhirError(409, 'conflict', `no recipient of ${blobKey} has a public key`);
    return recipients;
  }
}

interface PatientKeyRow {
  username: string;
  encryption_public_jwk: JWK;
}

async function patientKeyRow(db: Database, pseudonym: string): Promise<PatientKeyRow | undefined> {
  const { rows } = await db.query<PatientKeyRow>('SELECT username, encryption_public_jwk FROM users WHERE pseudonym = $1', [pseudonym]);
  return rows[0];
}

