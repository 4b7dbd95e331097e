import { createHash } from 'node:crypto';
import { ByteWriter } from './bytewriter.js';
import type { UpdateBatch } from './updatebatch.js';

/**
 * COMMIT_HASH chaining as Fabric's kvLedger.addBlockCommitHash does:
 *   commitHash_n = SHA-256( varint(len(filter)) ‖ filter ‖ updateBytes ‖ commitHash_{n-1} )
 * Approximation: Fabric's updateBytes is its own deterministic protobuf encoding of the public update
 * batch; here it is, for every namespace and key in UTF-8 order,
 *   varint-len ns ‖ varint-len key ‖ isDelete byte ‖ varint-len value ‖ varint blockNum ‖ varint txNum.
 * The chain is therefore reproducible from the blocks alone but not byte-identical to a Fabric peer's.
 */
export function nextCommitHash(previous: Uint8Array, txFilter: Uint8Array, batch: UpdateBatch): Buffer {
  const w = new ByteWriter(1024);
  w.varint(txFilter.length).raw(txFilter);
  for (const { ns, writes } of batch.sorted()) {
    for (const [key, pw] of writes) {
      w.string(ns).string(key);
      w.byte(pw.value === null ? 1 : 0);
      w.bytes(pw.value ?? new Uint8Array(0));
      w.varint(pw.version.blockNum).varint(pw.version.txNum);
    }
  }
  w.raw(previous);
  return createHash('sha256').update(w.view()).digest();
}
