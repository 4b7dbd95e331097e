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
  /** rows not yet anchored (newer than the last batch) */
  pendingRows: number;
  problems: AuditProblem[];
}

/** The ledger's anchor for this hospital at `sequence`, read from the ledger itself; undefined if there is none. */
export type AnchorSource = (sequence: number) => Promise<AuditAnchor | undefined>;

interface BatchRow {
  sequence: string;
  first_seq: string;
  last_seq: string;
  seqs: string[];
  leaves: Uint8Array;
  merkle_root: string;
}

/**
 * Recomputes every anchored batch of the read-access log from the rows in the table and compares it with the root
 * on the ledger. A batch whose stored leaf hashes still give the ledger's root names exactly which of its rows was
 * deleted (missing leaf) or altered (hash differs); one whose record was tampered with too is still judged by its
 * rows' root. Rows in a batch's seq range that it does not list are reported as inserted, anchors on the ledger that have no
 * batch record as a deleted batch.
 */
export async function verifyAuditLog(db: Queryable, anchorOf: AnchorSource): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const { rows: batches } = await db.query<BatchRow>('SELECT b.sequence::text AS sequence, b.first_seq::text AS first_seq, b.last_seq::text AS last_seq, b.seqs::text[] AS seqs, b.leaves, b.merkle_root FROM audit_anchor_batches b ORDER BY b.sequence');
  let anchoredRows = 0;
  let expected = 1;
  let previous: BatchRow | undefined;
  for (const batch of batches) {
    const sequence = Number(batch.sequence);
    // the seq range the batch covers: from the previous batch's last row on (or, when that batch's record is
    // missing, from its own first row; the first batch, from the beginning)
    const rangeAfter = sequence === 1 ? null : previous && Number(previous.sequence) === sequence - 1 ? previous.last_seq : String(BigInt(batch.first_seq) - 1n);
    previous = batch;
    for (; expected < sequence; expected++) problems.push({ kind: 'batch-missing', sequence: expected, message: `batch ${expected}: its record was deleted from audit_anchor_batches` });
    expected = sequence + 1;
    const anchor = await anchorOf(sequence);
    if (!anchor) {
      problems.push({ kind: 'anchor-missing', sequence, message: `batch ${sequence}: no anchor on the ledger` });
      continue;
    }
    const ledgerRoot = anchor.merkleRoot;
    const stored = leavesOf(batch.leaves);
    const recordTrusted = stored !== undefined && stored.length === batch.seqs.length && stored.length === anchor.count && merkleRoot(stored).toString('hex') === ledgerRoot;
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
      if (recordTrusted && !hash.equals(stored![i])) {
        intact = false;
        problems.push({ kind: 'altered', sequence, seq, message: `row ${seq} (batch ${sequence}, leaf ${i}) was altered` });
      }
    });
    if (!recordTrusted && (hashes.length !== anchor.count || merkleRoot(hashes).toString('hex') !== ledgerRoot)) {
      intact = false;
      problems.push({ kind: 'altered', sequence, message: `batch ${sequence}: its rows no longer give the ledger's root (rows deleted or altered)` });
    }
    if (intact) anchoredRows += batch.seqs.length;
    const { rows: slipped } = await db.query<{ seq: string }>(
      'SELECT l.seq::text AS seq FROM read_access_log l WHERE ($1::bigint IS NULL OR l.seq > $1) AND l.seq <= $2 AND NOT (l.seq = ANY ($3::bigint[])) ORDER BY l.seq',
      [rangeAfter, batch.last_seq, batch.seqs],
    );
    for (const { seq } of slipped) problems.push({ kind: 'inserted', sequence, seq, message: `row ${seq} lies in the range of batch ${sequence} but is not in it` });
  }
  // the ledger knows more batches than the table: the newest records were deleted
  for (let next = expected; await anchorOf(next); next++) problems.push({ kind: 'batch-missing', sequence: next, message: `batch ${next} is on the ledger but its record was deleted` });
  const lastSeq = batches.length > 0 ? batches[batches.length - 1].last_seq : '0';
  const pendingRows = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log WHERE seq > $1', [lastSeq])).rows[0].n);
  return { ok: problems.length === 0, batches: batches.length, anchoredRows, pendingRows, problems };
}

/** A batch record's leaves: 32-byte hashes back to back (undefined when the value cannot be that). */
function leavesOf(value: Uint8Array): Buffer[] | undefined {
  const all = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (all.length % 32 !== 0) return undefined;
  return Array.from({ length: all.length / 32 }, (_, i) => all.subarray(i * 32, i * 32 + 32));
}
