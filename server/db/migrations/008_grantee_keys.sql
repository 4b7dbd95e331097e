-- Encryption for every grantee (DESIGN §6): organization keys on the ledger, this hospital's own organization
-- key, and the key syncs a grant, revoke or expiry still owes.

-- Replica of OrganizationRecord (ledger key organization/<msp>): the public key grants to an organization use.
CREATE TABLE ledger_organizations (
  msp           text PRIMARY KEY,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL
);

-- Private keys of the hospital itself (not of a user): 'organization' opens what was wrapped for the
-- organization. Held like users' private keys (a key vault wraps them in a later change).
CREATE TABLE hospital_keys (
  name         text PRIMARY KEY,
  public_jwk   jsonb NOT NULL,
  private_jwk  jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per (patient, grantee) whose wrapped keys must be brought in line with the ledger at due_at: written
-- before a grant's keys are synced (so a crash or a blob store outage is retried) and kept for the instant the
-- grantee's last covering permission ends. requested_at tells a finished sync whether a newer request arrived.
CREATE TABLE grantee_key_tasks (
  patient       text NOT NULL,
  grantee_kind  text NOT NULL,
  grantee_id    text NOT NULL,
  due_at        timestamptz NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (patient, grantee_kind, grantee_id)
);
CREATE INDEX grantee_key_tasks_due ON grantee_key_tasks (due_at);

-- How far this hospital has looked for permissions it did not write itself (break-glass, written by the
-- practitioner) on its patients: their grantees' keys are synced like any grant's.
CREATE TABLE grantee_key_checkpoint (
  name        text PRIMARY KEY,
  next_block  bigint NOT NULL
);
