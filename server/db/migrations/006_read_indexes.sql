-- Reads at scale (bench:read: a million permissions, 100,000 documents): every lookup a read request makes
-- is an index probe, never a scan of a table that grows with the ledger.

-- DocumentReference/<id> and Binary/<id>: the primary key (patient, id) cannot answer a lookup by id alone.
CREATE INDEX ledger_documents_id ON ledger_documents (id);
-- Consent/<id>: likewise.
CREATE INDEX ledger_permissions_id ON ledger_permissions (id);
-- The read decision for a document: its patient's grants to this grantee, neither all of the patient's grants
-- (the primary key) nor all of the grantee's grants across patients (ledger_permissions_grantee).
CREATE INDEX ledger_permissions_patient_grantee ON ledger_permissions (patient, grantee_kind, grantee_id);
