import type { JWK } from 'jose';
import type { Queryable } from '../db/database.js';
import { generateEncryptionKeyPair } from '../documents/index.js';
import type { ConsentryLedger } from '../ledger/consentry.js';
import { LedgerRejectedError } from '../ledger/errors.js';
import type { LedgerUser } from '../ledger/identity.js';
import { ORGANIZATION_KEY } from '../repositories/key-holders.js';
import { vaultContext, type KeyVault } from './key-vault.js';

/**
 * The hospital's own encryption key pair, for permissions granted to the organization as a whole: the private
 * key stays in this hospital's database, sealed by the key vault (made once, shared by all its server processes);
 * the public key is published on the ledger (RegisterOrganization) so the patient's home hospital can wrap data keys for it.
 */
export async function ensureOrganizationKey(db: Queryable, ledger: ConsentryLedger, admin: LedgerUser, vault: KeyVault): Promise<void> {
  const pair = await generateEncryptionKeyPair();
  const created = await db.query('INSERT INTO hospital_keys (name, public_jwk, private_key_sealed) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name', [
    ORGANIZATION_KEY,
    JSON.stringify(pair.publicJwk),
    await vault.sealJwk(pair.privateJwk, vaultContext.hospitalKey(ORGANIZATION_KEY)),
  ]);
  const { rows } = await db.query<{ public_jwk: JWK }>('SELECT public_jwk FROM hospital_keys WHERE name = $1', [ORGANIZATION_KEY]);
  const publicJwk = rows[0].public_jwk;
  if (created.rows.length === 0 && (await publishedKey(db, ledger, admin)) === thumb(publicJwk)) return;
  await ledger.registerOrganization(admin, { msp: admin.mspId, encryptionKey: publicJwk as never });
}

/** The key on the ledger: from the replica when it has one, else asked of the peer. */
async function publishedKey(db: Queryable, ledger: ConsentryLedger, admin: LedgerUser): Promise<string | undefined> {
  const { rows } = await db.query<{ key: JWK }>(`SELECT record -> 'encryptionKey' AS key FROM ledger_organizations WHERE msp = $1`, [admin.mspId]);
  if (rows[0]) return thumb(rows[0].key);
  try {
    return thumb((await ledger.getOrganization(admin, admin.mspId)).encryptionKey as JWK);
  } catch (err) {
    if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
    throw err;
  }
}

function thumb(jwk: JWK): string {
  return `${jwk.crv}:${jwk.x}:${jwk.y}`;
}
