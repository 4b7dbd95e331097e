import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { applyBatch, emptyIndexes, indexTransaction, replayBlock, ReplayError, type Indexes } from './apply.js';
import { buildBlock, commitHashOf, scanBlock, txFilterOf } from './block.js';
import { blockDataHash, blockHeaderHash } from './blockhash.js';
import { BlockStore, LedgerCorruptError, fsyncDir, type VerifiedBlock } from './blockstore.js';
import { Code, HeaderType } from './codes.js';
import { nextCommitHash } from './commithash.js';
import { buildGenesisBlock } from './genesis.js';
import { acquireLock } from './lock.js';
import {
  captureSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  readSnapshotFile,
  removeSnapshotFile,
  writeSnapshotFile,
} from './snapshot.js';
import { parseEndorserTransaction, parseTxHeader } from './txparse.js';
import type {
  ChainInfo,
  CommittedBlock,
  HistoryEntry,
  KV,
  Ledger,
  StoredTransaction,
  VersionedValue,
} from './types.js';
import { validateBlock } from './validate.js';

export interface OpenLedgerOptions {
  /** the channel's ledger folder, by convention <data>/devpeer/ledger/<channel> (see ledgerDir) */
  dir: string;
  channel: string;
  /** organizations named in the genesis config block (used only when the ledger is created) */
  mspIds?: readonly string[];
  /** write a state snapshot after this many committed transactions (default 50,000; 0: only on close) */
  snapshotEveryTxs?: number;
  /** write a snapshot on close (default true) */
  snapshotOnClose?: boolean;
  log?: (message: string) => void;
}

export interface StartupReport {
  ms: number;
  height: number;
  transactions: number;
  /** height of the snapshot the state was loaded from, or null for a full replay */
  snapshotHeight: number | null;
  replayedBlocks: number;
  replayedTransactions: number;
  tornTailBytes: number;
  /** why an existing snapshot was not used */
  snapshotIgnored?: string;
}

export interface FileLedger extends Ledger {
  readonly dir: string;
  readonly startup: StartupReport;
  /** COMMIT_HASH of the last block */
  commitHash(): Uint8Array;
  /** writes a state snapshot at the current height now */
  snapshot(): Promise<void>;
  stateKeyCount(): number;
}

const DEFAULT_SNAPSHOT_EVERY = 50_000;

/**
 * Opens (or creates, with its genesis block) a channel's ledger: verifies every stored block, drops a
 * torn tail, and rebuilds the world state, history and tx index from a snapshot plus the blocks after it.
 * Throws LedgerCorruptError ("block N is corrupt: …") when a stored block fails its checks.
 */
export async function openLedger(opts: OpenLedgerOptions): Promise<FileLedger> {
  const t0 = performance.now();
  const dir = resolve(opts.dir);
  const log = opts.log ?? ((m: string) => console.error(`[ledger] ${m}`));
  mkdirDurable(dir);
  const release = acquireLock(dir);
  try {
    const ledger = await load(dir, opts, log, t0);
    return ledger;
  } catch (e) {
    release();
    throw e;
  }

  async function load(dir: string, o: OpenLedgerOptions, log: (m: string) => void, start: number): Promise<FileLedger> {
    const boot = startState(dir, o.channel);
    let idx: Indexes = boot.indexes;
    let commitHash: Buffer = Buffer.alloc(0);
    let totalTxs = 0;
    let replayedBlocks = 0;
    let replayedTxs = 0;

    const replay = (num: number, envelopes: readonly Uint8Array[], filter: Uint8Array, stored: Buffer): void => {
      let batch;
      try {
        batch = replayBlock(idx, num, envelopes, filter);
      } catch (e) {
        if (e instanceof ReplayError) throw new LedgerCorruptError(num, e.message);
        throw e;
      }
      const expected = nextCommitHash(commitHash, filter, batch);
      if (!expected.equals(stored)) {
        throw new LedgerCorruptError(num, 'commit hash mismatch (validation results or updates differ from the commit)');
      }
      commitHash = expected;
      replayedBlocks++;
      replayedTxs += envelopes.length;
    };

    let snap = boot.snapshot;
    let snapshotIgnored = boot.ignored;
    let deferred = false; // the snapshot turned out not to match the chain: replay everything after the walk
    const onBlock = (b: VerifiedBlock): void => {
      totalTxs += b.block.data.length;
      if (b.num === 0) checkGenesis(b, o.channel, dir);
      if (deferred) return;
      const stored = commitHashOf(b.block);
      if (snap && b.num < snap.height) {
        if (b.num === snap.height - 1) {
          if (!b.headerHash.equals(snap.lastBlockHash) || !stored.equals(snap.commitHash)) {
            snapshotIgnored = `snapshot at height ${snap.height} does not match block ${b.num}`;
            deferred = true;
          } else {
            commitHash = Buffer.from(stored);
          }
        }
        return;
      }
      replay(b.num, b.block.data, txFilterOf(b.block), stored);
    };

    const { store, walk } = await BlockStore.open(dir, onBlock, log);
    try {
      let lastHash = walk.lastHeaderHash;
      let prevHash = walk.lastPreviousHash;
      if (snap && snap.height > store.height) {
        snapshotIgnored = `snapshot at height ${snap.height} is ahead of the block file (height ${store.height})`;
        deferred = true;
      }
      if (deferred) {
        snap = undefined;
        idx = emptyIndexes();
        commitHash = Buffer.alloc(0);
        replayedBlocks = replayedTxs = 0;
        for (let n = 0; n < store.height; n++) {
          const scanned = scanBlock(store.readBlock(n)!);
          replay(n, scanned.data, txFilterOf(scanned), commitHashOf(scanned));
        }
      }
      if (store.height === 0) {
        const g = buildGenesisBlock(o.channel, { mspIds: o.mspIds });
        const scanned = scanBlock(g.block);
        await store.append(0, g.block, scanned.dataOffsets);
        replay(0, scanned.data, txFilterOf(scanned), commitHashOf(scanned));
        totalTxs = 1;
        lastHash = blockHeaderHash(scanned);
        prevHash = Buffer.alloc(0);
        log(`created ledger for channel "${o.channel}" in ${dir}`);
      }
      if (snapshotIgnored) {
        log(`${snapshotIgnored}; state rebuilt from the blocks`);
        removeSnapshotFile(dir);
      }
      const startup: StartupReport = {
        ms: Math.round(performance.now() - start),
        height: store.height,
        transactions: totalTxs,
        snapshotHeight: snap ? snap.height : null,
        replayedBlocks,
        replayedTransactions: replayedTxs,
        tornTailBytes: walk.torn?.bytes ?? 0,
        snapshotIgnored,
      };
      const ledger = new LedgerImpl(dir, o, log, store, idx, { lastHash, prevHash, commitHash }, startup, release);
      ledger.afterOpen(replayedTxs, snap === undefined, snap ? (boot.size ?? 0) : 0);
      return ledger;
    } catch (e) {
      await store.close();
      throw e;
    }
  }
}

/** Creates the folder and its missing parents, syncing each new entry into its parent folder. */
function mkdirDurable(dir: string): void {
  const created: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) created.push(d);
  if (created.length === 0) return;
  mkdirSync(dir, { recursive: true });
  for (const d of created) fsyncDir(dirname(d));
}

function startState(dir: string, channel: string) {
  const raw = readSnapshotFile(dir);
  if (!raw) return { indexes: emptyIndexes() };
  try {
    const snap = decodeSnapshot(raw);
    if (snap.channel !== channel) throw new Error(`snapshot is for channel "${snap.channel}"`);
    if (snap.height === 0) throw new Error('empty snapshot');
    return { indexes: { state: snap.state, history: snap.history, txIndex: snap.txIndex }, snapshot: snap, size: raw.length };
  } catch (e) {
    return { indexes: emptyIndexes(), ignored: `snapshot unusable (${(e as Error).message})` };
  }
}

function checkGenesis(b: VerifiedBlock, channel: string, dir: string): void {
  let h;
  try {
    h = parseTxHeader(b.block.data[0] ?? new Uint8Array(0));
  } catch (e) {
    throw new LedgerCorruptError(0, `unreadable genesis transaction: ${(e as Error).message}`);
  }
  if (h.type !== HeaderType.CONFIG) throw new LedgerCorruptError(0, 'block 0 is not a config block');
  if (h.channelId !== channel) throw new Error(`ledger ${dir} belongs to channel "${h.channelId}", not "${channel}"`);
}

interface Tip {
  lastHash: Buffer;
  prevHash: Buffer;
  commitHash: Buffer;
}

class LedgerImpl implements FileLedger {
  readonly channel: string;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private txsSinceSnapshot = 0;
  private snapshotting?: Promise<void>;
  private lastSnapshotSize = 0;
  private readonly snapshotEvery: number;

  constructor(
    readonly dir: string,
    private readonly opts: OpenLedgerOptions,
    private readonly log: (m: string) => void,
    private readonly store: BlockStore,
    private readonly idx: Indexes,
    private tip: Tip,
    readonly startup: StartupReport,
    private readonly release: () => void,
  ) {
    this.channel = opts.channel;
    this.snapshotEvery = opts.snapshotEveryTxs ?? DEFAULT_SNAPSHOT_EVERY;
  }

  afterOpen(replayedTxs: number, noSnapshot: boolean, snapshotSize: number): void {
    this.txsSinceSnapshot = replayedTxs;
    this.lastSnapshotSize = snapshotSize;
    const due = this.snapshotEvery > 0 && replayedTxs >= this.snapshotEvery;
    if (due || (noSnapshot && replayedTxs > 1000)) this.backgroundSnapshot();
  }

  height(): number {
    return this.store.height;
  }

  getState(namespace: string, key: string): VersionedValue | undefined {
    return this.idx.state.get(namespace, key);
  }

  getStateRange(namespace: string, startKey: string, endKey: string): Iterable<KV> {
    return this.idx.state.range(namespace, startKey, endKey);
  }

  getHistory(namespace: string, key: string): HistoryEntry[] {
    this.assertOpen();
    return this.idx.history.positions(namespace, key).map(({ blockNum, txNum }) => {
      const env = this.store.readEnvelope(blockNum, txNum);
      if (!env) throw new Error(`history points at missing transaction ${blockNum}:${txNum}`);
      const tx = parseEndorserTransaction(env, { readSets: false });
      const write = tx.rwsets
        .filter((s) => s.namespace === namespace)
        .flatMap((s) => s.writes)
        .findLast((w) => w.key === key);
      if (!write) throw new Error(`transaction ${tx.txId} does not write ${namespace}/${key}`);
      return {
        txId: tx.txId,
        timestamp: { ...tx.timestamp },
        value: write.value,
        isDelete: write.isDelete,
        blockNum,
        txNum,
      };
    });
  }

  hasTransaction(txId: string): boolean {
    return this.idx.txIndex.has(txId);
  }

  getTransaction(txId: string): StoredTransaction | undefined {
    const loc = this.idx.txIndex.get(txId);
    if (!loc) return undefined;
    this.assertOpen();
    const envelope = this.store.readEnvelope(loc.blockNum, loc.txNum);
    return envelope && { ...loc, envelope };
  }

  getBlock(blockNum: number): Uint8Array | undefined {
    if (!Number.isInteger(blockNum) || blockNum < 0) return undefined;
    this.assertOpen();
    return this.store.readBlock(blockNum);
  }

  chainInfo(): ChainInfo {
    return { height: this.store.height, currentBlockHash: this.tip.lastHash, previousBlockHash: this.tip.prevHash };
  }

  commitHash(): Uint8Array {
    return this.tip.commitHash;
  }

  stateKeyCount(): number {
    return this.idx.state.keyCount();
  }

  commitBlock(envelopes: Uint8Array[]): Promise<CommittedBlock> {
    const run = this.queue.then(() => this.commitNow(envelopes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(envelopes: Uint8Array[]): Promise<CommittedBlock> {
    if (this.closed) throw new Error('ledger is closed');
    if (envelopes.length === 0) throw new Error('a block needs at least one transaction');
    const number = this.store.height;
    const v = validateBlock(envelopes, {
      blockNum: number,
      channel: this.channel,
      state: this.idx.state,
      isKnownTxId: (id) => this.idx.txIndex.has(id),
    });
    const previousHash = this.tip.lastHash;
    const dataHash = blockDataHash(envelopes);
    const commitHash = nextCommitHash(this.tip.commitHash, v.txFilter, v.batch);
    const block = buildBlock({ number, previousHash, dataHash, envelopes, txFilter: v.txFilter, commitHash });
    await this.store.append(number, block, scanBlock(block).dataOffsets);

    // Durable: now (and only now) the block's effects become visible.
    applyBatch(this.idx.state, v.batch);
    v.verdicts.forEach((t, txNum) => indexTransaction(this.idx, number, txNum, t.code, t.txId, t.tx));
    this.tip = { lastHash: blockHeaderHash({ number, previousHash, dataHash }), prevHash: previousHash, commitHash };
    this.txsSinceSnapshot += envelopes.length;
    if (this.snapshotEvery > 0 && this.txsSinceSnapshot >= this.snapshotEvery) this.backgroundSnapshot();

    return {
      number,
      block,
      transactions: v.verdicts.map((t) => ({
        txId: t.txId,
        validationCode: t.code,
        event: t.code === Code.VALID ? t.tx?.event : undefined,
      })),
    };
  }

  async snapshot(): Promise<void> {
    while (this.snapshotting) await this.snapshotting.catch(() => undefined);
    // The capture is synchronous, so it reflects one height even while commits continue.
    const captured = captureSnapshot({
      channel: this.channel,
      height: this.store.height,
      lastBlockHash: this.tip.lastHash,
      commitHash: this.tip.commitHash,
      ...this.idx,
    });
    this.txsSinceSnapshot = 0;
    const run = async (): Promise<void> => {
      const pause = this.closed ? undefined : () => new Promise<void>((r) => setImmediate(r));
      const bytes = await encodeSnapshot(captured, pause, this.lastSnapshotSize);
      await writeSnapshotFile(this.dir, bytes);
      this.lastSnapshotSize = bytes.length;
    };
    const write = run();
    this.snapshotting = write.finally(() => {
      this.snapshotting = undefined;
    });
    await write;
  }

  private backgroundSnapshot(): void {
    if (this.snapshotting) return;
    this.snapshot().catch((e) => this.log(`snapshot failed: ${(e as Error).message}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    try {
      if (this.snapshotting) await this.snapshotting.catch(() => undefined);
      if (this.opts.snapshotOnClose !== false && this.txsSinceSnapshot > 0) await this.snapshot();
    } finally {
      await this.store.close();
      this.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ledger is closed');
  }
}
