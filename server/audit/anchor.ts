import type { Database } from '../db/database.js';
import type { LedgerClient } from '../ledger/index.js';
import { LedgerRejectedError } from '../ledger/errors.js';
import type { LedgerUser } from '../ledger/identity.js';
import { atOf, LOG_ROW_COLUMNS, type LogRow } from './canonical-row.js';
import type { Disclosures } from './disclosures.js';
import { MerkleAccumulator } from './merkle.js';

export const DEFAULT_ANCHOR_INTERVAL_MS = 2_000;
// A batch's aggregate statements hold the database (PGlite: the process) for a few microseconds per row, so a
// large backlog goes out as several batches, and a batch is read in chunks, each a short pause for the requests
// being served (one statement over 2,000 rows held them up for 10-20 ms, several times a second under load).
const MAX_ROWS = 2_000;
const CHUNK_ROWS = 400;
/** a row's stored leaf; computed from its columns for a row written without one (by hand, or by an older version) */
const LEAF = 'COALESCE(leaf, consentry_log_leaf(seq, at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height))';

/**
 * The highest seq of the log such that no row at or below it can still commit: the SHARE lock waits for every
 * transaction inserting into the log to end, and holds new ones off for the instant it takes to read max(seq).
 */
async function logHorizon(db: Database): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.query('LOCK TABLE read_access_log IN SHARE MODE');
    return (await tx.query<{ h: string }>('SELECT COALESCE(max(seq), 0)::text AS h FROM read_access_log')).rows[0].h;
  });
}

export interface AnchoredBatch {
  sequence: number;
  count: number;
  merkleRoot: string;
  txId: string;
  blockNumber: number;
}

export interface AnchoringDeps {
  db: Database;
  ledger: LedgerClient;
  /** the hospital's admin identity: only an admin may anchor (chaincode rule) */
  admin: LedgerUser;
  mspId: string;
  disclosures: Disclosures;
  intervalMs?: number;
  log: (msg: string) => void;
}

/**
 * Anchors the read-access log on the ledger in the background (issue 5, item 7): every interval, the rows logged
 * since the last batch become one batch whose Merkle root (merkle.ts over canonical-row.ts) goes on the ledger with
 * AnchorAudit; the batch (its rows' seqs and leaf hashes, the root, the tx id and block) is recorded in
 * audit_anchor_batches. Batches cover consecutive ranges of seq: batch n holds every row with seq above batch n-1's
 * last_seq up to its own. A row that commits late (two server processes on one PostgreSQL) would fall into a range
 * already anchored, so a batch ends at a horizon read under a SHARE lock on the log, which waits until every insert
 * in flight has committed: no row at or below the horizon can appear afterwards. Reads never wait for anchoring
 * beyond that lock; the database hashed each row's leaf as it was written (migration 014), so a batch is a few
 * aggregate statements, not a read-back of every row.
 */
export class AuditAnchoring {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AnchoringDeps) {}

  start(): void {
    const interval = this.deps.intervalMs ?? DEFAULT_ANCHOR_INTERVAL_MS;
    const tick = () => {
      this.running = this.anchorPendingBatches()
        .catch((err) => this.deps.log(`audit anchoring failed: ${err instanceof Error ? err.message : err}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, interval).unref();
        });
    };
    this.timer = setTimeout(tick, interval).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One batch per interval, and more at once only while they come out full (a backlog, not the steady trickle). */
  private async anchorPendingBatches(): Promise<void> {
    while (!this.stopped && (await this.anchorOnce())?.count === MAX_ROWS);
  }

  /** Anchors what is pending now, in batches of up to MAX_ROWS; returns the last batch, if any. */
  async anchorAll(): Promise<AnchoredBatch | undefined> {
    let last: AnchoredBatch | undefined;
    for (;;) {
      const batch = await this.anchorOnce();
      if (!batch) return last;
      last = batch;
    }
  }

  /** One batch of what is pending; one at a time in this process (a sibling process is settled by the ledger's sequence). */
  anchorOnce(): Promise<AnchoredBatch | undefined> {
    const next = this.exclusive.then(() => this.anchorPending());
    this.exclusive = next.catch(() => undefined);
    return next;
  }


  private async anchorPending(): Promise<AnchoredBatch | undefined> {
    const { db, ledger, admin, disclosures } = this.deps;
    // the sequence before the rows: a batch recorded in between makes this one conflict on the ledger, not repeat rows
    const last = (await db.query<{ sequence: string; last_seq: string }>('SELECT COALESCE(max(sequence), 0)::text AS sequence, COALESCE(max(last_seq), 0)::text AS last_seq FROM audit_anchor_batches')).rows[0];
    const sequence = Number(last.sequence) + 1;
    const horizon = await logHorizon(db);
    const after = last.last_seq;
    // the rows after the last batch, up to the horizon or the MAX_ROWS-th row, with the leaves stored with them (migration 014)
    const chunks: Buffer[] = [];
    const leaves: Buffer[] = [];
    // hashed chunk by chunk: the whole tree at once held the process for 5-10 ms
    const tree = new MerkleAccumulator();
    const seqs: string[] = [];
    const patientSet = new Set<string>();
    let fromUs: bigint | undefined;
    let toUs: bigint | undefined;
    for (let cursor = after; seqs.length < MAX_ROWS; ) {
      const want = Math.min(CHUNK_ROWS, MAX_ROWS - seqs.length);
      const chunk = (
        await db.query<{ n: string; seqs: string[] | null; leaves: string | null; from_us: string | null; to_us: string | null; patients: string[] | null }>(
          `SELECT count(*)::text AS n, array_agg(seq::text ORDER BY seq) AS seqs, encode(string_agg(${LEAF}, ''::bytea ORDER BY seq), 'base64') AS leaves,
             ((extract(epoch FROM min(at)) * 1000000)::bigint)::text AS from_us, ((extract(epoch FROM max(at)) * 1000000)::bigint)::text AS to_us,
             array_agg(DISTINCT patient) AS patients
           FROM (SELECT * FROM read_access_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT ${want}) rows`,
          [cursor, horizon],
        )
      ).rows[0];
      const n = Number(chunk.n);
      if (n === 0 || !chunk.seqs || !chunk.leaves) break;
      // base64 (with line breaks, which the decoder skips) parses far faster than bytea's hex
      const bytes = Buffer.from(chunk.leaves, 'base64');
      if (bytes.length !== n * 32) throw new Error(`read-access log rows after ${cursor}: ${bytes.length / 32} leaves for ${n} rows`);
      chunks.push(bytes);
      for (let i = 0; i < n; i++) {
        const leaf = bytes.subarray(i * 32, i * 32 + 32);
        leaves.push(leaf);
        tree.push(leaf);
      }
      seqs.push(...chunk.seqs);
      for (const p of chunk.patients ?? []) patientSet.add(p);
      const [from, to] = [BigInt(chunk.from_us!), BigInt(chunk.to_us!)];
      if (fromUs === undefined || from < fromUs) fromUs = from;
      if (toUs === undefined || to > toUs) toUs = to;
      cursor = chunk.seqs[chunk.seqs.length - 1];
      if (n < want) break;
    }
    const count = seqs.length;
    if (count === 0) return undefined;
    // the batch ends at its MAX_ROWS-th row, or else at the horizon (seqs drawn by inserts that failed are covered too)
    const end = count === MAX_ROWS ? seqs[count - 1] : horizon;
    const all = Buffer.concat(chunks);
    const root = tree.root().toString('hex');
    const anchor = { sequence, merkleRoot: root, count, fromTime: atOf({ at_us: String(fromUs) }).toISOString(), toTime: atOf({ at_us: String(toUs) }).toISOString() };
    // sealed before the anchor commits: the home hospital imports them only once their root is on the ledger
    await disclosures.publish(sequence, leaves, [...patientSet], async (patients) => {
      const { rows } = await db.query<LogRow & { leaf_index: string }>(
        `SELECT * FROM (SELECT ${LOG_ROW_COLUMNS}, (row_number() OVER (ORDER BY l.seq) - 1)::text AS leaf_index FROM read_access_log l WHERE l.seq > $1 AND l.seq <= $2) x
         WHERE x.patient = ANY ($3)`,
        [after, end, patients],
      );
      return rows.map(({ leaf_index, ...row }) => ({ row, index: Number(leaf_index) }));
    });
    let committed: { txId: string; blockNumber: number } | undefined;
    try {
      const result = await ledger.consentry.anchorAudit(admin, anchor);
      committed = { txId: result.transactionId, blockNumber: result.blockNumber };
    } catch (err) {
      if (!(err instanceof LedgerRejectedError) || !/already exists/.test(err.message)) throw err;
      // anchored before (by a sibling process, or by this one before a crash): adopt it if it is this very batch
      committed = await this.adopt(sequence, root);
      if (!committed) return undefined;
    }
    const batch: AnchoredBatch = { sequence, count, merkleRoot: root, ...committed };
    // the record lists the rows and leaves the root was computed over (the range cannot gain rows below the horizon)
    await db.query(
      `INSERT INTO audit_anchor_batches (sequence, first_seq, last_seq, seqs, leaves, merkle_root, from_time, to_time, tx_id, block_number)
       VALUES ($1::bigint, $2::bigint, $3::bigint, $4::text::bigint[], decode($5, 'base64'), $6::text, $7::timestamptz, $8::timestamptz, $9::text, $10::bigint)`,
      // as text: PGlite serializes a bytea parameter (and an array) several times slower than the database parses these
      [sequence, seqs[0], seqs[count - 1], `{${seqs.join(',')}}`, all.toString('base64'), root, anchor.fromTime, anchor.toTime, batch.txId, batch.blockNumber],
    );
    return batch;
  }

  private async adopt(sequence: number, root: string): Promise<{ txId: string; blockNumber: number } | undefined> {
    const { db, mspId, log } = this.deps;
    const { rows } = await db.query<{ tx_id: string; block_number: string; root: string }>(
      `SELECT tx_id, block_number::text, payload -> 'anchor' ->> 'merkleRoot' AS root FROM ledger_events
       WHERE event_name = 'AuditAnchored' AND payload -> 'anchor' ->> 'msp' = $1 AND payload -> 'anchor' ->> 'sequence' = $2`,
      [mspId, String(sequence)],
    );
    if (rows[0]?.root === root) return { txId: rows[0].tx_id, blockNumber: Number(rows[0].block_number) };
    log(`audit anchor ${mspId}/${sequence} is already on the ledger with another root; waiting for its batch record`);
    return undefined;
  }
}
