-- The hospital's own records: accounts, FHIR resources it is the source of truth for, and logs.

CREATE TABLE users (
  username               text PRIMARY KEY,
  password_hash          text NOT NULL,                 -- scrypt$N$r$p$salt$hash
  role                   text NOT NULL CHECK (role IN ('patient', 'practitioner', 'admin')),
  fhir_user              text NOT NULL,                 -- e.g. Practitioner/ryu, Patient/p1
  display_name           text NOT NULL,
  ledger_cert            text NOT NULL,                 -- X.509 from the hospital CA
  ledger_key             text NOT NULL,                 -- PKCS#8 PEM (a key vault wraps it in a later issue)
  encryption_public_jwk  jsonb NOT NULL,
  encryption_private_jwk jsonb NOT NULL,
  pseudonym              text,
  npi                    text,
  status                 text NOT NULL DEFAULT 'active',
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_fhir_user ON users (fhir_user);

-- Versioned FHIR resources kept in the database (Patient, Practitioner, Organization, PractitionerRole).
CREATE TABLE resource_versions (
  resource_type  text NOT NULL,
  id             text NOT NULL,
  version        integer NOT NULL,
  last_updated   timestamptz NOT NULL,
  deleted        boolean NOT NULL DEFAULT false,
  resource       jsonb,
  PRIMARY KEY (resource_type, id, version)
);

CREATE TABLE resources (
  resource_type  text NOT NULL,
  id             text NOT NULL,
  version        integer NOT NULL,
  last_updated   timestamptz NOT NULL,
  deleted        boolean NOT NULL DEFAULT false,
  resource       jsonb,
  PRIMARY KEY (resource_type, id)
);

-- Which ledger pseudonym a local Patient is, and the secret it was derived from.
CREATE TABLE patient_pseudonyms (
  patient_id     text PRIMARY KEY,
  pseudonym      text NOT NULL UNIQUE,
  secret         text NOT NULL
);

-- Uploaded Binary content not yet (or never) bound to a DocumentReference.
CREATE TABLE binaries (
  id                 text PRIMARY KEY,
  blob_key           text NOT NULL,
  uploader           text NOT NULL,
  patient            text,
  content_type       text NOT NULL,
  size               bigint NOT NULL,
  ciphertext_sha256  text NOT NULL,
  document_id        text,
  created_at         timestamptz NOT NULL DEFAULT now()
);

-- Every read of a patient's data served by this hospital (accounting of disclosures).
CREATE TABLE read_access_log (
  seq            bigserial PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  username       text NOT NULL,
  agent          text NOT NULL,          -- ledger id of the reader
  patient        text NOT NULL,          -- pseudonym
  resource_type  text NOT NULL,
  resource_id    text NOT NULL,
  action         text NOT NULL,          -- read | vread | search | download
  purpose        text,
  ledger_height  bigint NOT NULL
);
CREATE INDEX read_access_log_patient ON read_access_log (patient, at);
