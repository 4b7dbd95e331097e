-- Each ledger write of a DocumentMeta key is a FHIR version of its DocumentReference.
ALTER TABLE ledger_documents ADD COLUMN version integer NOT NULL DEFAULT 1;
