import type { Queryable } from '../db/database.js';
import type { BlockTransaction } from './blocks.js';
import { collectBlock } from './projection-rows.js';
import { writeBlockRows } from './projection-write.js';

export { collectRecords } from './projection-rows.js';

/**
 * Writes the events of a block's committed transactions (the caller picks the valid ones, in block
 * order) into the projection. Event payloads carry the records the transaction wrote (a SubmitBatch
 * carries its operations' events in order), so the projection is rebuilt from events alone. The whole
 * block is written with one statement per table; the rows are those a per-record upsert of every event
 * in order would leave.
 */
export async function applyBlockEvents(db: Queryable, blockNumber: number, transactions: readonly BlockTransaction[]): Promise<void> {
  await writeBlockRows(db, blockNumber, collectBlock(transactions));
}

/** One committed transaction's event: a block of one. */
export function applyTransactionEvent(db: Queryable, blockNumber: number, tx: BlockTransaction): Promise<void> {
  return applyBlockEvents(db, blockNumber, [tx]);
}
