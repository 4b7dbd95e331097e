-- A batch record lists its rows' seqs (2,000 bigints, 16 KB). Stored compressed, pglz spent about 5 ms on each
-- insert on PGlite, inside the request-serving process, twice a second under load; uncompressed it costs 8 bytes
-- per logged read. The leaves (random hashes, incompressible) are already stored this way (migration 014).
ALTER TABLE audit_anchor_batches ALTER COLUMN seqs SET STORAGE EXTERNAL;
