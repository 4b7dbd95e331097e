import type { Database } from '../db/database.js';
import { KeyVault, KeyVaultError, vaultContext } from './key-vault.js';

/**
 * The data half of migration 012: seals the private keys an older version kept in plaintext, in one transaction.
 * Refuses to start when keys are sealed under another key-encryption key than the one this node has (a lost or
 * replaced key file would otherwise go unnoticed until the first read failed). Returns how many keys it sealed.
 */
export async function sealPlaintextKeys(db: Database, vault: KeyVault): Promise<number> {
  const foreign = await db.query<{ sealed: string }>(
    `SELECT ledger_key_sealed AS sealed FROM users WHERE ledger_key_sealed LIKE 'kv1:%' AND ledger_key_sealed NOT LIKE $1
     UNION ALL SELECT private_key_sealed FROM hospital_keys WHERE private_key_sealed LIKE 'kv1:%' AND private_key_sealed NOT LIKE $1 LIMIT 1`,
    [`kv1:${vault.kek.id}:%`],
  );
  if (foreign.rows[0]) {
    throw new KeyVaultError(`the database holds keys sealed under key-encryption key ${KeyVault.kekIdOf(foreign.rows[0].sealed)}, but this node has ${vault.kek.id}: restore the key file (or point the node at the KMS key) it was sealed with`);
  }
  return db.transaction(async (tx) => {
    let sealed = 0;
    const users = await tx.query<{ username: string; ledger_key_sealed: string; encryption_key_sealed: string }>(
      `SELECT username, ledger_key_sealed, encryption_key_sealed FROM users WHERE ledger_key_sealed NOT LIKE 'kv1:%' OR encryption_key_sealed NOT LIKE 'kv1:%' FOR UPDATE`,
    );
    for (const u of users.rows) {
      const ledgerKey = KeyVault.isSealed(u.ledger_key_sealed) ? u.ledger_key_sealed : await vault.seal(u.ledger_key_sealed, vaultContext.userSigningKey(u.username));
      const encryptionKey = KeyVault.isSealed(u.encryption_key_sealed) ? u.encryption_key_sealed : await vault.seal(u.encryption_key_sealed, vaultContext.userEncryptionKey(u.username));
      await tx.query('UPDATE users SET ledger_key_sealed = $2, encryption_key_sealed = $3 WHERE username = $1', [u.username, ledgerKey, encryptionKey]);
      sealed += 1;
    }
    const hospital = await tx.query<{ name: string; private_key_sealed: string }>(`SELECT name, private_key_sealed FROM hospital_keys WHERE private_key_sealed NOT LIKE 'kv1:%' FOR UPDATE`);
    for (const k of hospital.rows) {
      await tx.query('UPDATE hospital_keys SET private_key_sealed = $2 WHERE name = $1', [k.name, await vault.seal(k.private_key_sealed, vaultContext.hospitalKey(k.name))]);
      sealed += 1;
    }
    return sealed;
  });
}
