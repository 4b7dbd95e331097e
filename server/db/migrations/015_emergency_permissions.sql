-- The read log marks reads under a break-glass permission (purpose ETREAT) by looking up the reader's active
-- emergency permissions whenever the replica changes. Few permissions are emergencies, but one practitioner may
-- hold hundreds of thousands of ordinary ones: without this index the lookup walked all of them (190 ms at
-- 1,000,000 permissions, once per projected block, holding up every read waiting to be logged).
CREATE INDEX ledger_permissions_emergency ON ledger_permissions (grantee_kind, grantee_id) WHERE emergency AND status = 'active';
