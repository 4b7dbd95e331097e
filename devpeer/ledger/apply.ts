// Applying committed blocks to the derived indexes (world state, history, tx index). Used at commit,
// when replaying the block file at start-up, and by the verifier.
import { copyBytes } from './bytewriter.js';
import { Code, HeaderType } from './codes.js';
import { HistoryIndex } from './history.js';
import { StateDB } from './statedb.js';
import { TxIndex } from './txindex.js';
import { parseTxHeader, tryParseTransaction, type EndorserTransaction } from './txparse.js';
import { UpdateBatch } from './updatebatch.js';

export interface Indexes {
  state: StateDB;
  history: HistoryIndex;
  txIndex: TxIndex;
}

export function emptyIndexes(): Indexes {
  return { state: new StateDB(), history: new HistoryIndex(), txIndex: new TxIndex() };
}

/** Writes a block's batch into the state. Values are copied so that no envelope buffer is retained. */
export function applyBatch(state: StateDB, batch: UpdateBatch): void {
  for (const { ns, writes } of batch.sorted()) {
    for (const [key, w] of writes) {
      if (w.value === null) state.delete(ns, key);
      else state.put(ns, key, { value: copyBytes(w.value), version: w.version });
    }
  }
}

/** Records a transaction in the tx index and, when valid, its writes in the history index. */
export function indexTransaction(
  idx: Indexes,
  blockNum: number,
  txNum: number,
  code: number,
  txId: string,
  tx?: EndorserTransaction,
): void {
  idx.txIndex.add(txId, { blockNum, txNum, validationCode: code });
  if (code !== Code.VALID || !tx) return;
  for (const set of tx.rwsets) {
    for (const w of set.writes) idx.history.add(set.namespace, w.key, blockNum, txNum);
  }
}

export class ReplayError extends Error {
  constructor(
    readonly txNum: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Replays a committed block, trusting its TRANSACTIONS_FILTER: valid transactions' writes go to the
 * state and history, every readable tx id to the tx index. Returns the block's update batch (for the
 * commit hash). Throws ReplayError when a transaction marked valid cannot be parsed.
 */
export function replayBlock(
  idx: Indexes,
  blockNum: number,
  envelopes: readonly Uint8Array[],
  txFilter: Uint8Array,
): UpdateBatch {
  const batch = new UpdateBatch();
  envelopes.forEach((env, txNum) => {
    const code = txFilter[txNum];
    if (code !== Code.VALID) {
      let txId = '';
      try {
        txId = parseTxHeader(env).txId;
      } catch {
        // unreadable: not indexed, as in Fabric
      }
      indexTransaction(idx, blockNum, txNum, code, txId);
      return;
    }
    if (blockNum === 0) {
      let type = -1;
      try {
        type = parseTxHeader(env).type;
      } catch {
        // reported below
      }
      if (type !== HeaderType.CONFIG) throw new ReplayError(txNum, 'block 0 does not hold a config transaction');
      return;
    }
    const r = tryParseTransaction(env, { readSets: false });
    if (!r.ok) throw new ReplayError(txNum, `transaction ${txNum} is marked valid but ${r.error.message}`);
    const tx = r.tx;
    const version = { blockNum, txNum };
    for (const set of tx.rwsets) {
      for (const w of set.writes) batch.put(set.namespace, w.key, { value: w.isDelete ? null : w.value, version });
    }
    indexTransaction(idx, blockNum, txNum, code, tx.txId, tx);
  });
  applyBatch(idx.state, batch);
  return batch;
}
