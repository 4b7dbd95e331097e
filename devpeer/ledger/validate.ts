// Commit-time validation, in Fabric's order: structure, channel, duplicate tx id, then MVCC reads and
// range queries against committed state plus the writes of earlier valid transactions of the same block.
// Signatures, creators and endorsement policy are checked by the gateway before ordering.
import { Code } from './codes.js';
import { compareUtf8 } from './keyorder.js';
import type { StateDB } from './statedb.js';
import { tryParseTransaction, type EndorserTransaction, type RangeQueryEntry, type TxHeader } from './txparse.js';
import { UpdateBatch } from './updatebatch.js';
import type { KV, Version } from './types.js';

export interface TxVerdict {
  code: number;
  /** '' when the id could not be read */
  txId: string;
  /** set when the envelope parsed as an endorser transaction */
  tx?: EndorserTransaction;
  header?: TxHeader;
  /** why it is invalid (for logs) */
  reason?: string;
}

export interface ValidationContext {
  blockNum: number;
  channel: string;
  state: StateDB;
  /** tx ids already on the ledger */
  isKnownTxId(txId: string): boolean;
}

export interface BlockValidation {
  verdicts: TxVerdict[];
  txFilter: Uint8Array;
  batch: UpdateBatch;
}

export function validateBlock(envelopes: readonly Uint8Array[], ctx: ValidationContext): BlockValidation {
  const batch = new UpdateBatch();
  const seen = new Set<string>();
  const verdicts: TxVerdict[] = [];
  const txFilter = new Uint8Array(envelopes.length);
  envelopes.forEach((env, txNum) => {
    const v = validateOne(env, txNum, ctx, batch, seen);
    verdicts.push(v);
    txFilter[txNum] = v.code;
  });
  return { verdicts, txFilter, batch };
}

function validateOne(
  env: Uint8Array,
  txNum: number,
  ctx: ValidationContext,
  batch: UpdateBatch,
  seen: Set<string>,
): TxVerdict {
  const parsed = tryParseTransaction(env, { readSets: true });
  const header = parsed.ok ? parsed.tx : parsed.error.header;
  const txId = header?.txId ?? '';
  const verdict = (code: number, reason?: string): TxVerdict => ({
    code,
    txId,
    header,
    tx: parsed.ok ? parsed.tx : undefined,
    reason,
  });
  const duplicate = txId !== '' && (seen.has(txId) || ctx.isKnownTxId(txId));
  if (txId !== '') seen.add(txId);

  if (!parsed.ok) return verdict(parsed.error.code, parsed.error.message);
  const tx = parsed.tx;
  if (tx.channelId !== ctx.channel) {
    return verdict(Code.TARGET_CHAIN_NOT_FOUND, `channel "${tx.channelId}" is not "${ctx.channel}"`);
  }
  if (duplicate) return verdict(Code.DUPLICATE_TXID, `duplicate transaction id ${txId}`);
  for (const set of tx.rwsets) {
    for (const read of set.reads) {
      if (batch.has(set.namespace, read.key) || !sameVersion(ctx.state.getVersion(set.namespace, read.key), read.version)) {
        return verdict(Code.MVCC_READ_CONFLICT, `read conflict on ${set.namespace}/${printable(read.key)}`);
      }
    }
    for (const q of set.rangeQueries) {
      if (!rangeStillHolds(ctx.state, batch, set.namespace, q)) {
        return verdict(
          Code.PHANTOM_READ_CONFLICT,
          `phantom read on ${set.namespace} [${printable(q.startKey)}, ${printable(q.endKey)})`,
        );
      }
    }
  }

  const version = { blockNum: ctx.blockNum, txNum };
  for (const set of tx.rwsets) {
    for (const w of set.writes) {
      batch.put(set.namespace, w.key, { value: w.isDelete ? null : w.value, version });
    }
  }
  return verdict(Code.VALID);
}

export function sameVersion(a: Version | undefined, b: Version | undefined): boolean {
  if (!a || !b) return a === b;
  return a.blockNum === b.blockNum && a.txNum === b.txNum;
}

/**
 * Re-executes a range query over committed state merged with the block's pending writes and compares it
 * with what the simulation saw (Fabric's rangeQueryResultsValidator). When the simulation did not exhaust
 * the iterator, endKey is the last key it read and is included.
 */
function rangeStillHolds(state: StateDB, batch: UpdateBatch, ns: string, q: RangeQueryEntry): boolean {
  // The devpeer's simulator records raw reads; a Merkle summary cannot be re-checked here, so it fails.
  if (!q.reads) return false;
  const includeEnd = !q.itrExhausted;
  const it = combinedRange(state, batch, ns, q.startKey, q.endKey, includeEnd);
  for (const read of q.reads) {
    const r = it.next();
    if (r.done || r.value.key !== read.key || !sameVersion(r.value.version, read.version)) return false;
  }
  return !q.itrExhausted || it.next().done === true;
}

function* combinedRange(
  state: StateDB,
  batch: UpdateBatch,
  ns: string,
  start: string,
  end: string,
  includeEnd: boolean,
): Generator<{ key: string; version: Version }> {
  const pending = batch.inRange(ns, start, end, includeEnd);
  const committed = state.range(ns, start, end, includeEnd);
  const nextCommitted = (): KV | undefined => {
    const r = committed.next();
    return r.done ? undefined : r.value;
  };
  let cur = nextCommitted();
  let pi = 0;
  for (;;) {
    const pk = pi < pending.length ? pending[pi][0] : undefined;
    if (cur === undefined && pk === undefined) return;
    const order = cur === undefined ? 1 : pk === undefined ? -1 : compareUtf8(cur.key, pk);
    if (order < 0) {
      yield { key: cur!.key, version: cur!.value.version };
      cur = nextCommitted();
    } else {
      const w = pending[pi++][1];
      if (order === 0) cur = nextCommitted();
      if (w.value !== null) yield { key: pk!, version: w.version };
    }
  }
}

function printable(key: string): string {
  return JSON.stringify(key).slice(1, -1);
}
