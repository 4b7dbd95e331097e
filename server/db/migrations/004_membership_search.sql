-- Search index of the membership resources (Patient, Practitioner, Organization, PractitionerRole).
-- A trigger on `resources` keeps it current, so every writer (the FHIR API, enrollment, seeding) is indexed
-- the same way. One row per searchable value:
--   string params: value as written, norm = lower case without accents (for starts-with/contains)
--   token params:  system + value
--   date params:   the range [low, high) the value denotes at its precision
--   references:    value = "Type/id"; param `_reference` holds every literal reference of the resource

CREATE FUNCTION consentry_fold(s text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT lower(regexp_replace(normalize(s, NFD), '[\u0300-\u036f]', '', 'g')) $$;

CREATE TABLE resource_search (
  resource_type  text NOT NULL,
  id             text NOT NULL,
  param          text NOT NULL,
  value          text NOT NULL,
  norm           text,
  system         text,
  low            timestamptz,
  high           timestamptz
);
CREATE INDEX resource_search_owner ON resource_search (resource_type, id);
CREATE INDEX resource_search_norm ON resource_search (resource_type, param, norm text_pattern_ops);
CREATE INDEX resource_search_value ON resource_search (resource_type, param, value);

-- FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) → [low, high) in UTC; NULL when it is no real date.
CREATE FUNCTION consentry_date_range(d text, OUT low timestamptz, OUT high timestamptz)
  LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  start date;
BEGIN
  IF d ~ '^\d{4}$' THEN
    start := make_date(d::int, 1, 1);
    high := (start + interval '1 year')::timestamp AT TIME ZONE 'UTC';
  ELSIF d ~ '^\d{4}-\d{2}$' THEN
    start := make_date(substr(d, 1, 4)::int, substr(d, 6, 2)::int, 1);
    high := (start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
  ELSIF d ~ '^\d{4}-\d{2}-\d{2}$' THEN
    start := make_date(substr(d, 1, 4)::int, substr(d, 6, 2)::int, substr(d, 9, 2)::int);
    high := (start + 1)::timestamp AT TIME ZONE 'UTC';
  ELSE
    RETURN;
  END IF;
  low := start::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN others THEN
  low := NULL;
  high := NULL;
END $$;

CREATE FUNCTION consentry_index_resource(t text, rid text, r jsonb, is_deleted boolean) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM resource_search WHERE resource_type = t AND id = rid;
  IF is_deleted OR r IS NULL OR t NOT IN ('Patient', 'Practitioner', 'Organization', 'PractitionerRole') THEN
    RETURN;
  END IF;

  -- strings
  INSERT INTO resource_search (resource_type, id, param, value, norm)
  SELECT t, rid, p.param, v.value, consentry_fold(v.value)
  FROM (VALUES
      ('family', '$.name[*].family'),
      ('given', '$.name[*].given[*]'),
      ('prefix', '$.name[*].prefix[*]'),
      ('suffix', '$.name[*].suffix[*]'),
      ('name-text', '$.name[*].text')
    ) AS p(param, path),
    LATERAL (SELECT DISTINCT x #>> '{}' AS value FROM jsonb_path_query(r, p.path::jsonpath) x WHERE jsonb_typeof(x) = 'string') v
  WHERE t IN ('Patient', 'Practitioner');

  INSERT INTO resource_search (resource_type, id, param, value, norm)
  SELECT t, rid, p.param, v.value, consentry_fold(v.value)
  FROM (VALUES ('name', '$.name'), ('alias', '$.alias[*]')) AS p(param, path),
    LATERAL (SELECT DISTINCT x #>> '{}' AS value FROM jsonb_path_query(r, p.path::jsonpath) x WHERE jsonb_typeof(x) = 'string') v
  WHERE t = 'Organization';

  -- tokens
  INSERT INTO resource_search (resource_type, id, param, value, system)
  SELECT DISTINCT t, rid, 'identifier', x ->> 'value', x ->> 'system'
  FROM jsonb_path_query(r, '$.identifier[*]') x
  WHERE jsonb_typeof(x) = 'object' AND jsonb_typeof(x -> 'value') = 'string';

  INSERT INTO resource_search (resource_type, id, param, value)
  SELECT t, rid, 'gender', r ->> 'gender'
  WHERE t IN ('Patient', 'Practitioner') AND jsonb_typeof(r -> 'gender') = 'string';

  INSERT INTO resource_search (resource_type, id, param, value)
  SELECT t, rid, 'active', r ->> 'active'
  WHERE jsonb_typeof(r -> 'active') = 'boolean';

  -- dates
  INSERT INTO resource_search (resource_type, id, param, value, low, high)
  SELECT t, rid, 'birthdate', r ->> 'birthDate', d.low, d.high
  FROM consentry_date_range(r ->> 'birthDate') d
  WHERE t = 'Patient' AND d.low IS NOT NULL;

  -- references
  INSERT INTO resource_search (resource_type, id, param, value)
  SELECT t, rid, p.param, v.value
  FROM (VALUES
      ('PractitionerRole', 'practitioner', '$.practitioner.reference'),
      ('PractitionerRole', 'organization', '$.organization.reference'),
      ('Patient', 'organization', '$.managingOrganization.reference'),
      ('Patient', 'general-practitioner', '$.generalPractitioner[*].reference'),
      ('Organization', 'partof', '$.partOf.reference')
    ) AS p(type, param, path),
    LATERAL (SELECT DISTINCT x #>> '{}' AS value FROM jsonb_path_query(r, p.path::jsonpath) x WHERE jsonb_typeof(x) = 'string') v
  WHERE p.type = t;

  INSERT INTO resource_search (resource_type, id, param, value)
  SELECT DISTINCT t, rid, '_reference', x #>> '{}'
  FROM jsonb_path_query(r, 'strict $.**.reference') x
  WHERE jsonb_typeof(x) = 'string';
END $$;

CREATE FUNCTION consentry_index_resource_trigger() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM consentry_index_resource(NEW.resource_type, NEW.id, NEW.resource, NEW.deleted);
  RETURN NULL;
END $$;

CREATE TRIGGER resources_search_index AFTER INSERT OR UPDATE ON resources
  FOR EACH ROW EXECUTE FUNCTION consentry_index_resource_trigger();

SELECT consentry_index_resource(resource_type, id, resource, deleted) FROM resources;

-- Which patients a practitioner sees starts from their permissions (ledger_permissions_grantee) and the
-- documents they wrote.
CREATE INDEX ledger_documents_author ON ledger_documents (author);

-- AuditEvent: who acted in a ledger event (chaincode/README.md "Events"). Only the patient revokes;
-- grants, updates and break-glass name the writer in grantedBy; documents name their author; the rest
-- (registrations, erasure, anchors) are the writing organization's. Indexed so that a practitioner's
-- own events are found without reading every event.
CREATE FUNCTION consentry_ledger_agent(event_name text, payload jsonb, creator_msp text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE
    WHEN event_name = 'PermissionRevoked' THEN payload -> 'permission' ->> 'patient'
    WHEN payload ? 'permission' THEN payload -> 'permission' ->> 'grantedBy'
    WHEN payload ? 'document' THEN payload -> 'document' ->> 'author'
    ELSE creator_msp END $$;
CREATE INDEX ledger_events_agent ON ledger_events (consentry_ledger_agent(event_name, payload, creator_msp), tx_time);
CREATE INDEX read_access_log_agent ON read_access_log (agent, at);
