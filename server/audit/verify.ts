import type { AuditAnchor } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import { canonicalRow, LOG_ROW_COLUMNS, type LogRow } from './canonical-row.js';
import { leafHash, merkleRoot } from './merkle.js';

export interface AuditProblem {
  kind: 'deleted' | 'altered' | 'inserted' | 'batch-missing' | 'batch-altered' | 'anchor-missing';
  sequence?: number;
  seq?: string;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  batches: number;
  /** rows proven to be in an anchored root */
  anchoredRows: number;
  /** rows not yet anchored (newer than the last batch, or committed late) */
  pendingRows: number;
  problems: AuditProblem[];
}

/** The ledger's anchor for this hospital at `sequence`, read from the ledger itself; undefined if there is none. */
export type AnchorSource = (sequence: number) => Promise<AuditAnchor | undefined>;

interface BatchRow {
  sequence: string;
  seqs: string[];
  leaves: string[];
  merkle_root: string;
}

/**
 * Recomputes every anchored batch of the read-access log from the rows in the table and compares it with the root
 * on the ledger. A batch whose stored leaf hashes still give the ledger's root names exactly which of its rows was
 * deleted (missing leaf) or altered (hash differs); one whose record was tampered with too is still judged by its
 * rows' root. Rows that claim a batch they are not in are reported as inserted, anchors on the ledger that have no
 * batch record as a deleted batch.
 */
export async function verifyAuditLog(db: Queryable, anchorOf: AnchorSource): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const { rows: batches } = await db.query<BatchRow>('SELECT b.sequence::text AS sequence, b.seqs::text[] AS seqs, b.leaves, b.merkle_root FROM audit_anchor_batches b ORDER BY b.sequence');
  let anchoredRows = 0;
  let expected = 1;
  for (const batch of batches) {
    const sequence = Number(batch.sequence);
    for (; expected < sequence; expected++) problems.push({ kind: 'batch-missing', sequence: expected, message: `batch ${expected}: its record was deleted from audit_anchor_batches` });
    expected = sequence + 1;
    const anchor = await anchorOf(sequence);
    if (!anchor) {
      problems.push({ kind: 'anchor-missing', sequence, message: `batch ${sequence}: no anchor on the ledger` });
      continue;
    }
    const ledgerRoot = anchor.merkleRoot;
    const recordTrusted = batch.leaves.length === batch.seqs.length && batch.leaves.length === anchor.count && merkleRoot(batch.leaves.map((l) => Buffer.from(l, 'hex'))).toString('hex') === ledgerRoot;
    if (!recordTrusted) problems.push({ kind: 'batch-altered', sequence, message: `batch ${sequence}: its record does not match the ledger's root ${ledgerRoot}` });
    const { rows } = await db.query<LogRow>(`SELECT ${LOG_ROW_COLUMNS} FROM read_access_log l WHERE l.seq = ANY ($1::bigint[])`, [batch.seqs]);
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    const hashes: Buffer[] = [];
    let intact = true;
    batch.seqs.forEach((seq, i) => {
      const row = bySeq.get(seq);
      if (!row) {
        intact = false;
        if (recordTrusted) problems.push({ kind: 'deleted', sequence, seq, message: `row ${seq} (batch ${sequence}, leaf ${i}) was deleted` });
        return;
      }
      const hash = leafHash(canonicalRow(row));
      hashes.push(hash);
      if (recordTrusted && hash.toString('hex') !== batch.leaves[i]) {
        intact = false;
        problems.push({ kind: 'altered', sequence, seq, message: `row ${seq} (batch ${sequence}, leaf ${i}) was altered` });
      }
    });
    if (!recordTrusted && (hashes.length !== anchor.count || merkleRoot(hashes).toString('hex') !== ledgerRoot)) {
      intact = false;
      problems.push({ kind: 'altered', sequence, message: `batch ${sequence}: its rows no longer give the ledger's root (rows deleted or altered)` });
    }
    if (intact) anchoredRows += batch.seqs.length;
    const { rows: claimed } = await db.query<{ seq: string }>('SELECT seq::text FROM read_access_log WHERE anchored_in = $1 AND NOT (seq = ANY ($2::bigint[]))', [sequence, batch.seqs]);
    for (const { seq } of claimed) problems.push({ kind: 'inserted', sequence, seq, message: `row ${seq} claims batch ${sequence} but is not in it` });
  }
  // the ledger knows more batches than the table: the newest records were deleted
  for (let next = expected; await anchorOf(next); next++) problems.push({ kind: 'batch-missing', sequence: next, message: `batch ${next} is on the ledger but its record was deleted` });
  const { rows: orphans } = await db.query<{ seq: string; anchored_in: string }>(
    'SELECT l.seq::text, l.anchored_in::text FROM read_access_log l WHERE l.anchored_in IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_anchor_batches b WHERE b.sequence = l.anchored_in)',
  );
  for (const o of orphans) problems.push({ kind: 'inserted', seq: o.seq, message: `row ${o.seq} claims batch ${o.anchored_in}, which has no record` });
  const pendingRows = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log WHERE anchored_in IS NULL')).rows[0].n);
  return { ok: problems.length === 0, batches: batches.length, anchoredRows, pendingRows, problems };
}
