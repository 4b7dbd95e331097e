import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import type { Queryable } from '../db/database.js';
import { generateEncryptionKeyPair, samePublicKey } from '../documents/index.js';
import type { ConsentryLedger } from '../ledger/consentry.js';
import { LedgerRejectedError } from '../ledger/errors.js';
import type { LedgerUser } from '../ledger/identity.js';
import { ORGANIZATION_KEY, ORGANIZATION_SIGNING_KEY } from '../repositories/key-holders.js';
import { vaultContext, type KeyVault } from './key-vault.js';

/**
 * The hospital's own key pairs: an encryption key, for permissions granted to the organization as a whole, and a
 * signing key (ES256), with which it vouches for what it shares with other hospitals (the demographics it seals to
 * their grantees). The private keys stay in this hospital's database, sealed by the key vault (made once, shared by
 * all its server processes); the public keys are published on the ledger (RegisterOrganization), where the patient's
 * home hospital finds the key to wrap data keys for and other hospitals the key that verifies its signatures.
 */
export async function ensureOrganizationKey(db: Queryable, ledger: ConsentryLedger, admin: LedgerUser, vault: KeyVault): Promise<void> {
  const encryption = await ensureKeyRow(db, vault, ORGANIZATION_KEY, generateEncryptionKeyPair);
  const signing = await ensureKeyRow(db, vault, ORGANIZATION_SIGNING_KEY, generateSigningKeyPair);
  if (!encryption.created && !signing.created) {
    const published = await publishedKeys(db, ledger, admin);
    if (published && samePublicKey(published.encryptionKey, encryption.publicJwk) && samePublicKey(published.signingKey, signing.publicJwk)) return;
  }
  await ledger.registerOrganization(admin, { msp: admin.mspId, encryptionKey: encryption.publicJwk as never, signingKey: signing.publicJwk as never });
}

/** The hospital_keys row `name`, made with `generate` unless a process made it already; its public key. */
async function ensureKeyRow(db: Queryable, vault: KeyVault, name: string, generate: () => Promise<{ publicJwk: JWK; privateJwk: JWK }>): Promise<{ publicJwk: JWK; created: boolean }> {
  const pair = await generate();
  const created = await db.query('INSERT INTO hospital_keys (name, public_jwk, private_key_sealed) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name', [
    name,
    JSON.stringify(pair.publicJwk),
    await vault.sealJwk(pair.privateJwk, vaultContext.hospitalKey(name)),
  ]);
  const { rows } = await db.query<{ public_jwk: JWK }>('SELECT public_jwk FROM hospital_keys WHERE name = $1', [name]);
  return { publicJwk: rows[0].public_jwk, created: created.rows.length > 0 };
}

async function generateSigningKeyPair(): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const privateJwk = privateKey.export({ format: 'jwk' }) as JWK;
  const { kty, crv, x, y } = privateJwk;
  return { publicJwk: { kty, crv, x, y, use: 'sig', alg: 'ES256' }, privateJwk: { ...privateJwk, use: 'sig', alg: 'ES256' } };
}

/** The keys on the ledger: from the replica when it has them, else asked of the peer. */
async function publishedKeys(db: Queryable, ledger: ConsentryLedger, admin: LedgerUser): Promise<{ encryptionKey?: JWK; signingKey?: JWK } | undefined> {
  const { rows } = await db.query<{ record: { encryptionKey?: JWK; signingKey?: JWK } }>('SELECT record FROM ledger_organizations WHERE msp = $1', [admin.mspId]);
  if (rows[0]) return rows[0].record;
  try {
    const record = await ledger.getOrganization(admin, admin.mspId);
    return { encryptionKey: record.encryptionKey as JWK, signingKey: record.signingKey as JWK | undefined };
  } catch (err) {
    if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
    throw err;
  }
}
