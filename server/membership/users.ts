import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import type { Queryable } from '../db/database.js';
import type { Caller, Role } from '../fhir/context.js';
import type { HospitalCa } from './hospital-ca.js';
import { vaultContext, type KeyVault } from './key-vault.js';
import { hashPassword, verifyPassword } from './passwords.js';

export type { HospitalCa } from './hospital-ca.js';

export interface UserRow {
  username: string;
  role: Role;
  fhir_user: string;
  display_name: string;
  ledger_cert: string;
  /** the signing key (PKCS#8 PEM), sealed by the key vault */
  ledger_key_sealed: string;
  encryption_public_jwk: JWK;
  /** the encryption private JWK, sealed by the key vault */
  encryption_key_sealed: string;
  pseudonym: string | null;
  npi: string | null;
  /** active, or revoked (the certificate is on the CA's revocation list; no login, no tokens) */
  status: string;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  fhirUser: string;
  displayName: string;
  pseudonym?: string;
  npi?: string;
  emergency?: boolean;
}

/** The hospital's accounts: login, ledger identity and encryption keys of each user (private keys sealed). */
export class Users {
  constructor(
    private readonly db: Queryable,
    private readonly ca: HospitalCa,
    readonly vault: KeyVault,
  ) {}

  async create(user: NewUser): Promise<UserRow> {
    const attrs: Record<string, string> = { role: user.role, fhirUser: user.fhirUser };
    if (user.pseudonym) attrs.pseudonym = user.pseudonym;
    if (user.npi) attrs.npi = user.npi;
    if (user.emergency) attrs.emergency = 'true';
    const identity = await this.ca.issue(user.username, attrs);
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    const { rows } = await this.db.query<UserRow>(
      `INSERT INTO users (username, password_hash, role, fhir_user, display_name, ledger_cert, ledger_key_sealed, encryption_public_jwk, encryption_key_sealed, pseudonym, npi)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        user.username,
        await hashPassword(user.password),
        user.role,
        user.fhirUser,
        user.displayName,
        identity.certPem,
        await this.vault.seal(identity.keyPem, vaultContext.userSigningKey(user.username)),
        JSON.stringify(publicJwk),
        await this.vault.sealJwk(privateJwk, vaultContext.userEncryptionKey(user.username)),
        user.pseudonym ?? null,
        user.npi ?? null,
      ],
    );
    return rows[0];
  }

  async find(username: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    return rows[0];
  }

  async findByFhirUser(fhirUser: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.query<UserRow>('SELECT * FROM users WHERE fhir_user = $1', [fhirUser]);
    return rows[0];
  }

  async login(username: string, password: string): Promise<UserRow | undefined> {
    const user = await this.find(username);
    if (!user || user.status !== 'active') return undefined;
    const stored = await this.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = $1', [username]);
    return (await verifyPassword(password, stored.rows[0].password_hash)) ? user : undefined;
  }

  /** The user's signing key, opened from the vault. */
  signingKeyOf(user: Pick<UserRow, 'username' | 'ledger_key_sealed'>): Promise<crypto.KeyObject> {
    return this.vault.openPem(user.ledger_key_sealed, vaultContext.userSigningKey(user.username));
  }

  /** The user's encryption private key, opened from the vault. */
  encryptionKeyOf(user: Pick<UserRow, 'username' | 'encryption_key_sealed'>): Promise<JWK> {
    return this.vault.openJwk(user.encryption_key_sealed, vaultContext.userEncryptionKey(user.username));
  }

  callerOf(user: UserRow, scopes: string[]): Caller {
    return {
      username: user.username,
      role: user.role,
      fhirUser: user.fhir_user,
      mspId: this.ca.mspId,
      ledgerId: user.role === 'patient' ? (user.pseudonym ?? '') : `${this.ca.mspId}/${user.fhir_user}`,
      // opened only when a gateway for this certificate is first made (LedgerConnection caches it)
      ledgerUser: { mspId: this.ca.mspId, certPem: user.ledger_cert, privateKey: () => this.signingKeyOf(user) },
      pseudonym: user.pseudonym ?? undefined,
      scopes,
    };
  }
}
