// Full, read-only verification of a channel ledger: every record checksum, block number, data hash and
// previous hash; every transaction re-validated from an empty state (MVCC, phantoms, duplicates) and
// compared with the stored TRANSACTIONS_FILTER; the COMMIT_HASH chain recomputed; and the snapshot
// compared with the state, history and tx index obtained by replaying the blocks up to its height.
import { closeSync, existsSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyBatch, emptyIndexes, indexTransaction, type Indexes } from './apply.js';
import { commitHashOf, txFilterOf } from './block.js';
import { BLOCK_FILE, LedgerCorruptError, walkChain, type VerifiedBlock } from './blockstore.js';
import { Code, HeaderType, codeName } from './codes.js';
import { nextCommitHash } from './commithash.js';
import { decodeSnapshot, readSnapshotFile, SnapshotError, type SnapshotData } from './snapshot.js';
import { parseTxHeader } from './txparse.js';
import { UpdateBatch } from './updatebatch.js';
import { validateBlock } from './validate.js';

export interface VerifyResult {
  ok: boolean;
  dir: string;
  channel?: string;
  /** number of blocks that verified */
  height: number;
  transactions: number;
  validTransactions: number;
  stateKeys: number;
  firstBadBlock?: number;
  message: string;
  /** bytes of an incomplete last record (a crash mid-append; dropped at the next start) */
  tornTailBytes: number;
  snapshot: 'absent' | 'matches' | 'differs' | 'corrupt';
  ms: number;
}

/** Verifies the ledger folder `dir` (the one holding blocks.dat). Never modifies anything. */
export async function verifyLedger(dir: string): Promise<VerifyResult> {
  const t0 = performance.now();
  const root = resolve(dir);
  const path = join(root, BLOCK_FILE);
  const result: VerifyResult = {
    ok: false,
    dir: root,
    height: 0,
    transactions: 0,
    validTransactions: 0,
    stateKeys: 0,
    message: '',
    tornTailBytes: 0,
    snapshot: 'absent',
    ms: 0,
  };
  const done = (ok: boolean, message: string): VerifyResult => {
    result.ok = ok;
    result.message = message;
    result.ms = Math.round(performance.now() - t0);
    return result;
  };
  if (!existsSync(path)) return done(false, `no block file at ${path}`);

  // Read the snapshot before the block file: it only ever covers blocks that were already durable.
  let snap: SnapshotData | undefined;
  let snapshotProblem: string | undefined;
  try {
    const raw = readSnapshotFile(root);
    if (raw) snap = decodeSnapshot(raw);
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    result.snapshot = 'corrupt';
    snapshotProblem = `snapshot is corrupt: ${e.message}`;
  }

  const idx = emptyIndexes();
  let commitHash: Buffer = Buffer.alloc(0);
  let channel = '';
  const onBlock = (b: VerifiedBlock): void => {
    const filter = txFilterOf(b.block);
    let batch: UpdateBatch;
    if (b.num === 0) {
      channel = genesisChannel(b);
      result.channel = channel;
      if (filter.length !== 1 || filter[0] !== Code.VALID) throw new LedgerCorruptError(0, 'genesis transaction not marked valid');
      batch = new UpdateBatch();
    } else {
      const v = validateBlock(b.block.data, {
        blockNum: b.num,
        channel,
        state: idx.state,
        isKnownTxId: (id) => idx.txIndex.has(id),
      });
      v.txFilter.forEach((code, i) => {
        if (code === filter[i]) return;
        const id = v.verdicts[i].txId;
        throw new LedgerCorruptError(
          b.num,
          `transaction ${i}${id ? ` (${id})` : ''} is recorded as ${codeName(filter[i])} but re-validates as ${codeName(code)}`,
        );
      });
      batch = v.batch;
      applyBatch(idx.state, batch);
      v.verdicts.forEach((t, i) => indexTransaction(idx, b.num, i, t.code, t.txId, t.tx));
    }
    const expected = nextCommitHash(commitHash, filter, batch);
    if (!expected.equals(commitHashOf(b.block))) throw new LedgerCorruptError(b.num, 'commit hash mismatch');
    commitHash = expected;
    result.transactions += filter.length;
    result.validTransactions += filter.filter((c) => c === Code.VALID).length;
    if (snap && b.num === snap.height - 1) {
      if (!b.headerHash.equals(snap.lastBlockHash) || !commitHash.equals(snap.commitHash)) {
        snapshotProblem = `snapshot at height ${snap.height} does not match block ${b.num}`;
      } else {
        snapshotProblem = compareWithSnapshot(idx, snap);
      }
      result.snapshot = snapshotProblem ? 'differs' : 'matches';
    }
    result.height = b.num + 1;
  };

  const fd = openSync(path, 'r');
  try {
    const walk = walkChain(fd, path, onBlock);
    result.tornTailBytes = walk.torn?.bytes ?? 0;
  } catch (e) {
    if (e instanceof LedgerCorruptError) {
      result.firstBadBlock = e.blockNum;
      return done(false, e.message);
    }
    throw e;
  } finally {
    closeSync(fd);
  }
  result.stateKeys = idx.state.keyCount();
  if (result.height === 0) return done(false, `${path} holds no block`);
  if (snap && result.snapshot === 'absent') {
    result.snapshot = 'differs';
    snapshotProblem = `snapshot at height ${snap.height} is ahead of the chain (height ${result.height})`;
  }
  if (snapshotProblem) return done(false, snapshotProblem);
  const tail = result.tornTailBytes ? `; ${result.tornTailBytes} bytes of an interrupted append will be dropped at the next start` : '';
  return done(true, `ledger "${channel}" verified: ${result.height} blocks, ${result.transactions} transactions${tail}`);
}

function genesisChannel(b: VerifiedBlock): string {
  try {
    const h = parseTxHeader(b.block.data[0] ?? new Uint8Array(0));
    if (h.type !== HeaderType.CONFIG) throw new Error('not a config transaction');
    return h.channelId;
  } catch (e) {
    throw new LedgerCorruptError(0, `bad genesis transaction: ${(e as Error).message}`);
  }
}

/** The first difference between replayed indexes and a snapshot, or undefined when they agree. */
export function compareWithSnapshot(idx: Indexes, snap: SnapshotData): string | undefined {
  const prefix = `snapshot at height ${snap.height} differs from the replayed blocks`;
  const spaces = new Set([...idx.state.namespaces(), ...snap.state.namespaces()]);
  for (const ns of spaces) {
    const a = idx.state.entries(ns);
    const b = snap.state.entries(ns);
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = b[i];
      if (
        !x ||
        !y ||
        x.key !== y.key ||
        !Buffer.from(x.value.value).equals(y.value.value) ||
        x.value.version.blockNum !== y.value.version.blockNum ||
        x.value.version.txNum !== y.value.version.txNum
      ) {
        return `${prefix}: state ${ns}/${JSON.stringify((x ?? y)!.key)}`;
      }
    }
  }
  const hspaces = new Set([...idx.history.namespaces(), ...snap.history.namespaces()]);
  for (const ns of hspaces) {
    const a = idx.history.sortedEntries(ns);
    const b = snap.history.sortedEntries(ns);
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = b[i];
      if (!x || !y || x[0] !== y[0] || x[1].join() !== y[1].join()) {
        return `${prefix}: history of ${ns}/${JSON.stringify((x ?? y)![0])}`;
      }
    }
  }
  if (idx.txIndex.size !== snap.txIndex.size) return `${prefix}: tx index size`;
  for (const [txId, loc] of idx.txIndex.entries()) {
    const s = snap.txIndex.get(txId);
    if (!s || s.blockNum !== loc.blockNum || s.txNum !== loc.txNum || s.validationCode !== loc.validationCode) {
      return `${prefix}: tx index entry ${txId}`;
    }
  }
  return undefined;
}
