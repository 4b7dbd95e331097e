-- A search is one entry of the read-access log per patient whose data it served (IHE BALP's query event),
-- naming every resource it disclosed, instead of one entry per resource: the log's cost per search stays one
-- row however large the page.
ALTER TABLE read_access_log ALTER COLUMN resource_id DROP NOT NULL;
ALTER TABLE read_access_log ADD COLUMN resource_ids text[];
