-- Cached read decisions live until the next instant any permission starts or ends (QueryCache): finding that
-- instant is an index probe, not a scan of a million permissions.
CREATE INDEX ledger_permissions_valid_from ON ledger_permissions (valid_from);
CREATE INDEX ledger_permissions_valid_to ON ledger_permissions (valid_to);
