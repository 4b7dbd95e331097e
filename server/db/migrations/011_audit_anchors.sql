-- Accounting of disclosures anchored on the ledger (issue 5, item 7). Each batch of the read-access log is
-- anchored as a Merkle root (AnchorAudit, key audit/<msp>/<sequence>); the rows it covers are listed by seq and
-- their leaf hashes kept, so audit:verify can name a deleted or altered row, not only a bad batch.
ALTER TABLE read_access_log ADD COLUMN anchored_in bigint;
CREATE INDEX read_access_log_unanchored ON read_access_log (seq) WHERE anchored_in IS NULL;

CREATE TABLE audit_anchor_batches (
  sequence      bigint PRIMARY KEY,           -- the ledger anchor's sequence for this hospital's MSP
  first_seq     bigint NOT NULL,
  last_seq      bigint NOT NULL,
  seqs          bigint[] NOT NULL,            -- the log rows the batch covers, in leaf order
  leaves        text[] NOT NULL,              -- hex SHA-256 leaf hash of each row's canonical encoding
  merkle_root   text NOT NULL,
  from_time     timestamptz NOT NULL,
  to_time       timestamptz NOT NULL,
  tx_id         text NOT NULL,
  block_number  bigint NOT NULL,
  anchored_at   timestamptz NOT NULL DEFAULT now()
);

-- Reads of this hospital's patients served by other hospitals: imported from the disclosures those hospitals
-- seal to the patient's key next to each anchored batch, each row proven against that batch's root on the ledger.
CREATE TABLE foreign_disclosures (
  msp            text NOT NULL,               -- the hospital that served the read
  seq            bigint NOT NULL,             -- its read-access log sequence
  anchor_sequence bigint NOT NULL,
  at             timestamptz NOT NULL,
  username       text NOT NULL,
  agent          text NOT NULL,
  patient        text NOT NULL,
  resource_type  text NOT NULL,
  resource_id    text,
  resource_ids   text[],
  action         text NOT NULL,
  purpose        text,
  ledger_height  bigint NOT NULL,
  PRIMARY KEY (msp, seq)
);
CREATE INDEX foreign_disclosures_patient ON foreign_disclosures (patient, at);

CREATE TABLE foreign_disclosure_imports (
  blob_key       text PRIMARY KEY,
  imported_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_events_audit_anchor ON ledger_events ((payload -> 'anchor' ->> 'msp'), (payload -> 'anchor' ->> 'sequence')) WHERE event_name = 'AuditAnchored';
