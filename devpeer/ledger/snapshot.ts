// A checkpoint of everything derived from the blocks (world state, history index, tx index) at a height,
// so that start-up replays only the blocks after it. It is a cache: the block file stays the truth, and
// a snapshot that fails its hash or does not match the chain is ignored and rebuilt.
//
// File: "FLSNAP01" ‖ body ‖ SHA-256(magic ‖ body). Body (varints, length-prefixed strings/bytes):
//   channel, height, lastBlockHash, commitHash,
//   state:   count of namespaces; per ns: name, count; per key (UTF-8 order): key, value, blockNum, txNum
//   history: count of namespaces; per ns: name, count; per key: key, n, n × (blockNum, txNum)
//   txIndex: count; per tx (commit order): txId, blockNum, txNum, validationCode
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ByteReader, ByteWriter, copyBytes } from './bytewriter.js';
import { fsyncDir } from './blockstore.js';
import { HistoryIndex } from './history.js';
import { StateDB } from './statedb.js';
import { TxIndex } from './txindex.js';
import type { KV } from './types.js';

export const SNAPSHOT_FILE = 'state.snapshot';
const TMP_FILE = 'state.snapshot.tmp';
const MAGIC = Buffer.from('FLSNAP01');

export interface SnapshotData {
  channel: string;
  height: number;
  lastBlockHash: Uint8Array;
  commitHash: Uint8Array;
  state: StateDB;
  history: HistoryIndex;
  txIndex: TxIndex;
}

export class SnapshotError extends Error {}

/**
 * The snapshot's content at one instant, taken synchronously and cheaply: state values are immutable
 * once stored, history lists and the tx index only grow, so references plus lengths stay valid while
 * commits continue and the (slower) encoding runs in slices.
 */
export interface CapturedSnapshot {
  channel: string;
  height: number;
  lastBlockHash: Uint8Array;
  commitHash: Uint8Array;
  state: [string, KV[]][];
  history: [string, [string, number[], number][]][];
  txIndex: TxIndex;
  txCount: number;
}

export function captureSnapshot(d: SnapshotData): CapturedSnapshot {
  return {
    channel: d.channel,
    height: d.height,
    lastBlockHash: d.lastBlockHash,
    commitHash: d.commitHash,
    state: d.state.namespaces().map((ns) => [ns, d.state.entries(ns)]),
    history: d.history.namespaces().map((ns) => [ns, d.history.entries(ns).map(([k, flat]) => [k, flat, flat.length])]),
    txIndex: d.txIndex,
    txCount: d.txIndex.size,
  };
}

/**
 * Encodes a capture; `pause` (if given) is awaited every few thousand entries to let other work run.
 * `sizeHint` (e.g. the previous snapshot's size) avoids growing the buffer in large copies.
 */
export async function encodeSnapshot(c: CapturedSnapshot, pause?: () => Promise<void>, sizeHint = 0): Promise<Buffer> {
  const w = new ByteWriter(Math.max(1 << 20, Math.ceil(sizeHint * 1.25)));
  let work = 0;
  w.raw(MAGIC);
  w.string(c.channel).varint(c.height).bytes(c.lastBlockHash).bytes(c.commitHash);

  w.varint(c.state.length);
  for (const [ns, entries] of c.state) {
    w.string(ns).varint(entries.length);
    for (const { key, value } of entries) {
      w.string(key).bytes(value.value).varint(value.version.blockNum).varint(value.version.txNum);
      if (pause && ++work % 5000 === 0) await pause();
    }
  }

  w.varint(c.history.length);
  for (const [ns, entries] of c.history) {
    w.string(ns).varint(entries.length);
    for (const [key, flat, len] of entries) {
      w.string(key).varint(len / 2);
      for (let i = 0; i < len; i++) w.varint(flat[i]);
      if (pause && ++work % 5000 === 0) await pause();
    }
  }

  w.varint(c.txCount);
  let n = 0;
  for (const [txId, loc] of c.txIndex.entries()) {
    if (n++ === c.txCount) break;
    w.string(txId).varint(loc.blockNum).varint(loc.txNum).varint(loc.validationCode);
    if (pause && ++work % 5000 === 0) await pause();
  }

  const body = w.view();
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

export function decodeSnapshot(buf: Buffer): SnapshotData {
  if (buf.length < MAGIC.length + 32 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotError('not a ledger snapshot');
  }
  const bodyEnd = buf.length - 32;
  const digest = createHash('sha256').update(buf.subarray(0, bodyEnd)).digest();
  if (!digest.equals(buf.subarray(bodyEnd))) throw new SnapshotError('snapshot checksum mismatch');
  try {
    const r = new ByteReader(buf, bodyEnd);
    r.raw(MAGIC.length);
    const channel = r.string();
    const height = r.varint();
    const lastBlockHash = Buffer.from(r.bytes());
    const commitHash = Buffer.from(r.bytes());

    const state = new StateDB();
    for (let nsCount = r.varint(); nsCount > 0; nsCount--) {
      const ns = r.string();
      const entries: KV[] = new Array(r.varint());
      for (let i = 0; i < entries.length; i++) {
        const key = r.string();
        const value = copyBytes(r.bytes());
        entries[i] = { key, value: { value, version: { blockNum: r.varint(), txNum: r.varint() } } };
      }
      state.loadSorted(ns, entries);
    }

    const history = new HistoryIndex();
    for (let nsCount = r.varint(); nsCount > 0; nsCount--) {
      const ns = r.string();
      for (let keys = r.varint(); keys > 0; keys--) {
        const key = r.string();
        const flat: number[] = new Array(2 * r.varint());
        for (let i = 0; i < flat.length; i++) flat[i] = r.varint();
        history.load(ns, key, flat);
      }
    }

    const txIndex = new TxIndex();
    for (let n = r.varint(); n > 0; n--) {
      const txId = r.string();
      txIndex.add(txId, { blockNum: r.varint(), txNum: r.varint(), validationCode: r.varint() });
    }
    if (r.more()) throw new SnapshotError('trailing bytes in snapshot');
    return { channel, height, lastBlockHash, commitHash, state, history, txIndex };
  } catch (e) {
    if (e instanceof RangeError) throw new SnapshotError(`malformed snapshot: ${e.message}`);
    throw e;
  }
}

export function readSnapshotFile(dir: string): Buffer | undefined {
  const path = join(dir, SNAPSHOT_FILE);
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** Writes atomically: temporary file, fsync, rename over the previous snapshot, fsync of the folder. */
export async function writeSnapshotFile(dir: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, TMP_FILE);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, join(dir, SNAPSHOT_FILE));
  fsyncDir(dir);
}

export function removeSnapshotFile(dir: string): void {
  rmSync(join(dir, SNAPSHOT_FILE), { force: true });
  rmSync(join(dir, TMP_FILE), { force: true });
}
