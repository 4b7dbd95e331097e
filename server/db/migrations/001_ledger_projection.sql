-- The hospital's replica of ledger state, kept current from chaincode events carried in blocks.
-- Every row names the block and transaction that produced it; the checkpoint advances in the
-- same database transaction as the rows it covers, so a crash never skips or repeats a block.

CREATE TABLE ledger_checkpoint (
  channel       text PRIMARY KEY,
  next_block    bigint NOT NULL,            -- every block below this one is applied
  last_tx_id    text,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_patients (
  pseudonym     text PRIMARY KEY,
  home_msp      text NOT NULL,
  status        text NOT NULL,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL
);

CREATE TABLE ledger_practitioners (
  id            text PRIMARY KEY,
  msp           text NOT NULL,
  npi           text NOT NULL,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL
);

CREATE TABLE ledger_permissions (
  patient       text NOT NULL,
  id            text NOT NULL,
  status        text NOT NULL,
  grantee_kind  text NOT NULL,
  grantee_id    text NOT NULL,
  rights        text[] NOT NULL,
  categories    text[] NOT NULL,
  valid_from    timestamptz NOT NULL,
  valid_to      timestamptz NOT NULL,
  purpose       text,
  emergency     boolean NOT NULL DEFAULT false,
  version       integer NOT NULL,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (patient, id)
);
CREATE INDEX ledger_permissions_grantee ON ledger_permissions (grantee_kind, grantee_id);

CREATE TABLE ledger_documents (
  patient       text NOT NULL,
  id            text NOT NULL,
  category      text NOT NULL,
  type          text,
  author        text NOT NULL,
  author_msp    text NOT NULL,
  status        text NOT NULL,
  created_at    timestamptz NOT NULL,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (patient, id)
);
CREATE INDEX ledger_documents_category ON ledger_documents (patient, category);

CREATE TABLE ledger_audit_anchors (
  msp           text NOT NULL,
  sequence      bigint NOT NULL,
  record        jsonb NOT NULL,
  block_number  bigint NOT NULL,
  tx_id         text NOT NULL,
  PRIMARY KEY (msp, sequence)
);

-- One row per committed consentry event: the raw material of AuditEvent and the patient's history.
CREATE TABLE ledger_events (
  block_number  bigint NOT NULL,
  tx_index      integer NOT NULL,
  event_index   integer NOT NULL,           -- position inside a SubmitBatch
  tx_id         text NOT NULL,
  event_name    text NOT NULL,
  patient       text,
  creator_msp   text NOT NULL,
  tx_time       timestamptz NOT NULL,
  payload       jsonb NOT NULL,
  PRIMARY KEY (block_number, tx_index, event_index)
);
CREATE INDEX ledger_events_patient ON ledger_events (patient, tx_time);
CREATE INDEX ledger_events_tx ON ledger_events (tx_id);
