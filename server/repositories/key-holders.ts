import type { JWK } from 'jose';
import { coversCategory } from '../../chaincode/src/categories.js';
import type { DocumentMeta, Grantee, Permission } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import type { Caller } from '../fhir/context.js';
import type { DocumentStore, Recipient, RecipientPrivate } from '../documents/index.js';
import { NoKeyError } from '../documents/index.js';
import { vaultContext, type KeyVault } from '../membership/key-vault.js';

/** The hospital_keys row holding the organization's own encryption key. */
export const ORGANIZATION_KEY = 'organization';
/** The hospital_keys row holding the organization's signing key (ES256). */
export const ORGANIZATION_SIGNING_KEY = 'organization-signing';

const PRACTITIONER_ID = /^([A-Za-z0-9._-]{1,64})\/(Practitioner\/[A-Za-z0-9.-]{1,64})$/;
const ORGANIZATION_RECIPIENT = /^Organization\/([A-Za-z0-9._-]{1,64})$/;

/**
 * Who a document's data key is wrapped for, and whose private key this hospital may use to open it (DESIGN §6).
 *
 * Recipient ids (also the JWE `kid`): a patient's pseudonym, a practitioner's ledger id `${msp}/Practitioner/<id>`,
 * or `Organization/<msp>` for grants to a whole hospital. Public keys come from the ledger (any hospital can wrap
 * for anyone); private keys only from this hospital's own users and its organization key, so a hospital can
 * decrypt only what was wrapped for one of its users.
 */
export class KeyHolders {
  constructor(
    private readonly db: Queryable,
    readonly mspId: string,
    /** private keys are sealed at rest; opened here, for the one use */
    readonly vault: KeyVault,
  ) {}

  /**
   * The recipient a grantee's wrapped keys are stored under. Clients (SMART apps a patient approved at home) and
   * studies get none: an app is served by the patient's home hospital, which opens documents with the patient's key.
   */
  static recipientIdOf(grantee: Grantee): string | undefined {
    if (grantee.kind === 'practitioner') return grantee.id;
    if (grantee.kind === 'organization') return `Organization/${grantee.id}`;
    return undefined;
  }

  /** The MSP a recipient belongs to, when it is a practitioner or an organization. */
  static mspOfRecipient(recipientId: string): string | undefined {
    return PRACTITIONER_ID.exec(recipientId)?.[1] ?? ORGANIZATION_RECIPIENT.exec(recipientId)?.[1];
  }

  /**
   * The recipients a new document's key is wrapped for: the patient, the author and (given a category) every
   * current reader of that category.
   */
  async recipientsFor(patient: string, category: string | undefined, author: Caller, at = new Date()): Promise<Recipient[]> {
    const ids = new Set([patient, author.ledgerId]);
    if (category !== undefined) for (const id of await this.readersOf(patient, category, at)) ids.add(id);
    const recipients: Recipient[] = [];
    for (const id of ids) {
      const publicJwk = await this.publicKeyOf(id);
      if (publicJwk) recipients.push({ id, publicJwk });
    }
    return recipients;
  }

  /**
   * Recipient ids of the grantees who read `category` of the patient's data under a permission in force or still
   * to come at `at` (active, `to` after `at`); a permission that starts later is wrapped for ahead of time, so
   * nothing has to happen when it starts.
   */
  async readersOf(patient: string, category: string, at: Date): Promise<string[]> {
    const { rows } = await this.db.query<{ record: Permission }>(
      `SELECT record FROM ledger_permissions
       WHERE patient = $1 AND status = 'active' AND 'read' = ANY (rights) AND valid_to > $2 AND grantee_kind IN ('practitioner', 'organization')`,
      [patient, at.toISOString()],
    );
    const ids = new Set<string>();
    for (const { record } of rows) {
      const id = KeyHolders.recipientIdOf(record.grantee);
      if (id && coversCategory(record.categories, category)) ids.add(id);
    }
    return [...ids];
  }

  /**
   * The private key this hospital opens a document with for a reader the ledger has already allowed: the reader's
   * own, the organization's, else the patient's or the author's when they are users of this hospital.
   */
  async privateFor(store: DocumentStore, meta: Pick<DocumentMeta, 'blob' | 'patient' | 'author' | 'id'>, reader: Caller): Promise<RecipientPrivate> {
    return this.firstHolder(store, meta, [reader.ledgerId, `Organization/${this.mspId}`, meta.patient, meta.author]);
  }

  /** A key of this hospital that opens the document, for wrapping it for somebody else. */
  async holderFor(store: DocumentStore, meta: Pick<DocumentMeta, 'blob' | 'patient' | 'author' | 'id'>): Promise<RecipientPrivate> {
    return this.firstHolder(store, meta, [meta.patient, meta.author, `Organization/${this.mspId}`]);
  }

  /** A recipient's public encryption key as published on the ledger (this hospital's own records while not yet projected). */
  async publicKeyOf(recipientId: string): Promise<JWK | undefined> {
    const org = ORGANIZATION_RECIPIENT.exec(recipientId);
    if (org) {
      const { rows } = await this.db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ledger_organizations WHERE msp = $1`, [org[1]]);
      return rows[0]?.key;
    }
    const table = PRACTITIONER_ID.test(recipientId) ? 'ledger_practitioners WHERE id = $1' : 'ledger_patients WHERE pseudonym = $1';
    const { rows } = await this.db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ${table}`, [recipientId]);
    if (rows[0]?.key) return rows[0].key;
    return (await this.localRow(recipientId))?.encryption_public_jwk;
  }

  /** The private key of a recipient who is a user (or the organization) of this hospital; undefined for anyone else. */
  async privateKeyOf(recipientId: string): Promise<JWK | undefined> {
    if (recipientId === `Organization/${this.mspId}`) {
      const { rows } = await this.db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM hospital_keys WHERE name = $1', [ORGANIZATION_KEY]);
      return rows[0] ? this.vault.openJwk(rows[0].private_key_sealed, vaultContext.hospitalKey(ORGANIZATION_KEY)) : undefined;
    }
    const row = await this.localRow(recipientId);
    return row ? this.vault.openJwk(row.encryption_key_sealed, vaultContext.userEncryptionKey(row.username)) : undefined;
  }

  /** This hospital's organization signing key (private), for what it vouches for to other hospitals. */
  async organizationSigningKey(): Promise<JWK | undefined> {
    const { rows } = await this.db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM hospital_keys WHERE name = $1', [ORGANIZATION_SIGNING_KEY]);
    return rows[0] ? this.vault.openJwk(rows[0].private_key_sealed, vaultContext.hospitalKey(ORGANIZATION_SIGNING_KEY)) : undefined;
  }

  /** The signing key the ledger holds for the patient's home hospital. */
  async homeSigningKeyOf(patient: string): Promise<JWK | undefined> {
    const { rows } = await this.db.query<{ key: JWK | null }>(
      `SELECT o.record -> 'signingKey' AS key FROM ledger_patients p JOIN ledger_organizations o ON o.msp = p.home_msp WHERE p.pseudonym = $1`,
      [patient],
    );
    return rows[0]?.key ?? undefined;
  }

  private async firstHolder(store: DocumentStore, meta: Pick<DocumentMeta, 'blob' | 'id'>, candidates: string[]): Promise<RecipientPrivate> {
    for (const id of new Set(candidates)) {
      if (!id) continue;
      const privateKey = await this.privateKeyOf(id);
      if (privateKey && (await store.hasRecipient(meta.blob, id))) return { id, privateKey };
    }
    throw new NoKeyError(`no user of ${this.mspId} holds a key for document ${meta.id}`, 'missing');
  }

  private async localRow(ledgerId: string): Promise<{ username: string; encryption_public_jwk: JWK; encryption_key_sealed: string } | undefined> {
    const practitioner = PRACTITIONER_ID.exec(ledgerId);
    if (practitioner && practitioner[1] !== this.mspId) return undefined;
    const { rows } = await this.db.query<{ username: string; encryption_public_jwk: JWK; encryption_key_sealed: string }>(
      practitioner ? 'SELECT username, encryption_public_jwk, encryption_key_sealed FROM users WHERE fhir_user = $1' : 'SELECT username, encryption_public_jwk, encryption_key_sealed FROM users WHERE pseudonym = $1',
      [practitioner ? practitioner[2] : ledgerId],
    );
    return rows[0];
  }
}
