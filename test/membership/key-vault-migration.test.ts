import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../server/db/migrate.js';
import { openPglite } from '../../server/db/pglite.js';
import { KeyVault, LocalKeyFile, vaultContext } from '../../server/membership/key-vault.js';
import { sealPlaintextKeys } from '../../server/membership/seal-keys.js';
import { tempDir } from '../support/ledger.js';

const MIGRATIONS = fileURLToPath(new URL('../../server/db/migrations', import.meta.url));

describe('key vault migration', () => {
  it('seals the plaintext keys an older database holds, and they open to the same keys', async () => {
    const dir = tempDir('vault');
    // the schema as it was before the key vault: every migration before 012
    const before = path.join(dir, 'before');
    fs.mkdirSync(before);
    for (const f of fs.readdirSync(MIGRATIONS).filter((f) => /^\d{3}_/.test(f) && f < '012')) fs.copyFileSync(path.join(MIGRATIONS, f), path.join(before, f));
    const db = await openPglite();
    try {
      await migrate(db, before);
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signingPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      const enc = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
      const encJwk = await exportJWK(enc.privateKey);
      await db.query(
        `INSERT INTO users (username, password_hash, role, fhir_user, display_name, ledger_cert, ledger_key, encryption_public_jwk, encryption_private_jwk)
         VALUES ('old', 'x', 'patient', 'Patient/old', 'Old', 'cert', $1, $2, $3)`,
        [signingPem, JSON.stringify(await exportJWK(enc.publicKey)), JSON.stringify(encJwk)],
      );
      await db.query(`INSERT INTO hospital_keys (name, public_jwk, private_jwk) VALUES ('organization', '{}', $1)`, [JSON.stringify(encJwk)]);

      await migrate(db, MIGRATIONS);
      const keyFile = path.join(dir, 'keys', 'key-encryption-key');
      const vault = new KeyVault(LocalKeyFile.open(keyFile));
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(await sealPlaintextKeys(db, vault)).toBe(2);
      expect(await sealPlaintextKeys(db, vault)).toBe(0);

      const user = (await db.query<{ ledger_key_sealed: string; encryption_key_sealed: string }>('SELECT * FROM users')).rows[0];
      const own = (await db.query<{ private_key_sealed: string }>('SELECT * FROM hospital_keys')).rows[0];
      for (const sealed of [user.ledger_key_sealed, user.encryption_key_sealed, own.private_key_sealed]) {
        expect(sealed).toMatch(/^kv1:/);
        expect(sealed).not.toContain(encJwk.d!);
      }
      expect((await vault.open(user.ledger_key_sealed, vaultContext.userSigningKey('old'))).toString()).toBe(signingPem);
      expect(await vault.openJwk(user.encryption_key_sealed, vaultContext.userEncryptionKey('old'))).toEqual(encJwk);
      expect(await vault.openJwk(own.private_key_sealed, vaultContext.hospitalKey('organization'))).toEqual(encJwk);

      // a node started with another key-encryption key (a lost key file) refuses rather than running blind
      const stranger = new KeyVault(LocalKeyFile.open(path.join(dir, 'other', 'key-encryption-key')));
      await expect(sealPlaintextKeys(db, stranger)).rejects.toThrow(/sealed under key-encryption key/);
      await expect(stranger.open(user.ledger_key_sealed, vaultContext.userSigningKey('old'))).rejects.toThrow(/sealed under key-encryption key/);
    } finally {
      await db.close();
    }
  });

  it('keeps the key file across starts', () => {
    const file = path.join(tempDir('vault'), 'kek');
    expect(LocalKeyFile.open(file).id).toBe(LocalKeyFile.open(file).id);
  });
});
