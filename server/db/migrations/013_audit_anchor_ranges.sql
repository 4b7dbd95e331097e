-- Audit batches cover consecutive seq ranges (server/audit/anchor.ts): a row's batch is the one whose range holds
-- its seq, so rows are no longer marked one by one after anchoring (an UPDATE of every logged read that stalled
-- the database, and left a dead tuple per read behind).
DROP INDEX read_access_log_unanchored;
ALTER TABLE read_access_log DROP COLUMN anchored_in;
