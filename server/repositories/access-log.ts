import type { Queryable } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';

type ReadAction = 'read' | 'vread' | 'search' | 'download';

/** The hospital's read-access log: every read of a patient's data it serves (accounting of disclosures). */
export async function logRead(db: Queryable, ctx: RequestContext, entry: { patient: string; resourceType: string; resourceId: string; action: ReadAction }): Promise<void> {
  await db.query(
    `INSERT INTO read_access_log (username, agent, patient, resource_type, resource_id, action, purpose, ledger_height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [ctx.caller.username, ctx.caller.ledgerId, entry.patient, entry.resourceType, entry.resourceId, entry.action, 'TREAT', ctx.ledgerHeight ?? 0],
  );
}

/**
 * Runs `select` (whose rows carry `log_patient` and `log_id`) and writes a read-log row for every row it
 * returns, in one statement: the rows served and their log entries commit together, and a request costs
 * one round trip to the database instead of one per row. `order` names a column of the select that gives
 * the order of the rows returned.
 */
export async function selectAndLogReads<Row>(
  db: Queryable,
  ctx: RequestContext,
  q: { select: string; params: unknown[]; resourceType: string; action: ReadAction; order?: string },
): Promise<Row[]> {
  const n = q.params.length;
  const { rows } = await db.query<Row>(
    `WITH hits AS (${q.select}),
     logged AS (
       INSERT INTO read_access_log (username, agent, patient, resource_type, resource_id, action, purpose, ledger_height)
       SELECT $${n + 1}, $${n + 2}, hits.log_patient, $${n + 3}, hits.log_id, $${n + 4}, 'TREAT', $${n + 5}::bigint FROM hits
     )
     SELECT * FROM hits${q.order ? ` ORDER BY hits.${q.order}` : ''}`,
    [...q.params, ctx.caller.username, ctx.caller.ledgerId, q.resourceType, q.action, ctx.ledgerHeight ?? 0],
  );
  return rows;
}
