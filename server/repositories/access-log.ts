import type { Queryable } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';

/** The hospital's read-access log: every read of a patient's data it serves (accounting of disclosures). */
export async function logRead(db: Queryable, ctx: RequestContext, entry: { patient: string; resourceType: string; resourceId: string; action: 'read' | 'vread' | 'search' | 'download' }): Promise<void> {
  await db.query(
    `INSERT INTO read_access_log (username, agent, patient, resource_type, resource_id, action, purpose, ledger_height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [ctx.caller.username, ctx.caller.ledgerId, entry.patient, entry.resourceType, entry.resourceId, entry.action, 'TREAT', ctx.ledgerHeight ?? 0],
  );
}
