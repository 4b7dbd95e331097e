-- Shared demographics are now signed by the home hospital (SharedDemographics), and grantees show only what
-- verifies. Copies sealed before are unsigned: a key sync of every grant to a practitioner or an organization on
-- this hospital's patients seals them again, signed, as soon as the node runs.
INSERT INTO grantee_key_tasks (patient, grantee_kind, grantee_id, due_at)
SELECT DISTINCT p.patient, p.grantee_kind, p.grantee_id, now()
FROM ledger_permissions p JOIN patient_pseudonyms pp ON pp.pseudonym = p.patient
WHERE p.status = 'active' AND p.grantee_kind IN ('practitioner', 'organization')
ON CONFLICT (patient, grantee_kind, grantee_id) DO UPDATE SET due_at = LEAST(grantee_key_tasks.due_at, EXCLUDED.due_at);
