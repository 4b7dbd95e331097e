import type { JWK } from 'jose';
import type { Database } from '../db/database.js';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import type { Caller } from '../fhir/context.js';
import type { DocumentStore, Recipient, RecipientPrivate } from '../documents/index.js';
import { NoKeyError } from '../documents/index.js';

/**
 * Whose private encryption key this hospital may use to open a document for a reader the ledger has
 * already allowed: the reader's own, else the patient's or the author's when they are users of this
 * hospital. A hospital can decrypt only what was wrapped for one of its users (DESIGN §6).
 */
export class KeyHolders {
  constructor(
    private readonly db: Database,
    private readonly mspId: string,
  ) {}

  /** The recipients a new document's key is wrapped for: the patient and the author. */
  async recipientsFor(patient: string, author: Caller): Promise<Recipient[]> {
    const recipients: Recipient[] = [];
    const patientKey = await this.publicKeyOfLedgerId(patient);
    if (patientKey) recipients.push({ id: patient, publicJwk: patientKey });
    if (author.ledgerId !== patient) {
      const own = await this.publicKeyOfLedgerId(author.ledgerId);
      if (own) recipients.push({ id: author.ledgerId, publicJwk: own });
    }
    return recipients;
  }

  async privateFor(store: DocumentStore, meta: DocumentMeta, reader: Caller): Promise<RecipientPrivate> {
    for (const id of [reader.ledgerId, meta.patient, meta.author]) {
      if (!(await store.hasRecipient(meta.blob, id))) continue;
      const privateKey = await this.privateKeyOfLedgerId(id);
      if (privateKey) return { id, privateKey };
    }
    throw new NoKeyError(`no user of ${this.mspId} holds a key for document ${meta.id}`, 'missing');
  }

  async publicKeyOfLedgerId(ledgerId: string): Promise<JWK | undefined> {
    return (await this.rowOf(ledgerId))?.encryption_public_jwk;
  }

  private async privateKeyOfLedgerId(ledgerId: string): Promise<JWK | undefined> {
    return (await this.rowOf(ledgerId))?.encryption_private_jwk;
  }

  private async rowOf(ledgerId: string): Promise<{ encryption_public_jwk: JWK; encryption_private_jwk: JWK } | undefined> {
    const local = ledgerId.startsWith(`${this.mspId}/`) ? ledgerId.slice(this.mspId.length + 1) : undefined;
    const { rows } = await this.db.query<{ encryption_public_jwk: JWK; encryption_private_jwk: JWK }>(
      local ? 'SELECT encryption_public_jwk, encryption_private_jwk FROM users WHERE fhir_user = $1' : 'SELECT encryption_public_jwk, encryption_private_jwk FROM users WHERE pseudonym = $1',
      [local ?? ledgerId],
    );
    return rows[0];
  }
}
