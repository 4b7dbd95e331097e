-- Key vault (DESIGN §6): private keys are held sealed under the hospital's key-encryption key, as text
-- `kv1:<kek id>:<wrapped>`. The columns are renamed so nothing reads them as plaintext by mistake; the node seals
-- the values an older version left in plaintext when it starts (server/membership/seal-keys.ts).
ALTER TABLE users RENAME COLUMN ledger_key TO ledger_key_sealed;
ALTER TABLE users RENAME COLUMN encryption_private_jwk TO encryption_key_sealed;
ALTER TABLE users ALTER COLUMN encryption_key_sealed TYPE text USING encryption_key_sealed #>> '{}';
ALTER TABLE hospital_keys RENAME COLUMN private_jwk TO private_key_sealed;
ALTER TABLE hospital_keys ALTER COLUMN private_key_sealed TYPE text USING private_key_sealed #>> '{}';

-- Certificate revocation: the serials the hospital's CA revoked, from which its CRL is made.
CREATE TABLE revoked_certificates (
  serial_number  text PRIMARY KEY,          -- lower-case hex without leading zeros
  username       text NOT NULL,
  revoked_at     timestamptz NOT NULL DEFAULT now(),
  revoked_by     text NOT NULL,
  reason         text
);
-- The CA's current CRL (PEM), so every server process of the hospital publishes the same one.
CREATE TABLE certificate_revocation_list (
  id          integer PRIMARY KEY CHECK (id = 1),
  crl_pem     text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
