-- Each read-access log row carries its Merkle leaf hash, written with the row, so anchoring a batch aggregates
-- stored leaves instead of reading every row back into the server and hashing it there (which cost as much as
-- logging the read). The leaf is SHA-256(0x00 ‖ UTF-8 of the JSON array [seq, at_us, username, agent, patient,
-- resource_type, resource_id, resource_ids, action, purpose, ledger_height]), the encoding of
-- server/audit/canonical-row.ts. The server encodes everything after seq as it logs (server/repositories/access-log.ts)
-- and the insert adds the seq it draws; consentry_log_leaf computes the whole leaf from a row's columns (to_json
-- escapes exactly ", \ and control characters, as JSON.stringify does) and fills in rows logged before this
-- migration. audit:verify recomputes every leaf from the row in JavaScript; a test holds the three equal.
CREATE FUNCTION consentry_log_leaf(seq bigint, at timestamptz, username text, agent text, patient text, resource_type text,
    resource_id text, resource_ids text[], action text, purpose text, ledger_height bigint) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256('\x00'::bytea || convert_to(
    '[' || to_json(seq::text)::text
    || ',' || to_json(((extract(epoch FROM at) * 1000000)::bigint)::text)::text
    || ',' || to_json(username)::text
    || ',' || to_json(agent)::text
    || ',' || to_json(patient)::text
    || ',' || to_json(resource_type)::text
    || ',' || COALESCE(to_json(resource_id)::text, 'null')
    || ',' || COALESCE(array_to_json(resource_ids)::text, 'null')
    || ',' || to_json(action)::text
    || ',' || COALESCE(to_json(purpose)::text, 'null')
    || ',' || to_json(ledger_height::text)::text || ']', 'UTF8'))
$$;

ALTER TABLE read_access_log ADD COLUMN leaf bytea;
UPDATE read_access_log SET leaf = consentry_log_leaf(seq, at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height);

-- A batch's leaf hashes as one value (32 bytes each, in seq order) rather than an array of hex strings: written in
-- one piece by the database, and never compressed (hashes do not compress).
ALTER TABLE audit_anchor_batches ALTER COLUMN leaves TYPE bytea USING decode(array_to_string(leaves, ''), 'hex');
ALTER TABLE audit_anchor_batches ALTER COLUMN leaves SET STORAGE EXTERNAL;
