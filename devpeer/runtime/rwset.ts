// The read-write set a simulation produces, serialized as Fabric's TxReadWriteSet (KV data model)
// with one KVRWSet per namespace: reads with the committed version seen, range-query infos with their
// raw reads (for phantom checks at commit), and writes; reads and writes sorted by key as Fabric does.
import type { Version } from '../ledger/types.js';
import { compareUtf8 } from '../ledger/keyorder.js';
import { bytesField, fields, message, messageField, varintField, type Node } from './protoenc.js';

export interface RangeQueryRecord {
  startKey: string;
  endKey: string;
  exhausted: boolean;
  reads: { key: string; version: Version }[];
}

// Encoded directly (the message layout of ledger/rwset/rwset.proto and kvrwset/kv_rwset.proto).
// TxReadWriteSet{1 data_model (KV = 0), 2 ns_rwset: NsReadWriteSet{1 namespace, 2 rwset: KVRWSet{
// 1 reads: KVRead{1 key, 2 version: Version{1 block_num, 2 tx_num}}, 2 range_queries_info: RangeQueryInfo{
// 1 start_key, 2 end_key, 3 itr_exhausted, 4 raw_reads: QueryReads{1 kv_reads}}, 3 writes: KVWrite{1 key,
// 2 is_delete, 3 value}}}}

function encodeRead(key: string, version: Version | null): Node {
  const v = version && messageField(2, fields(varintField(1, version.blockNum), varintField(2, version.txNum)));
  return fields(bytesField(1, key), v ?? undefined);
}

export class ReadWriteSetBuilder {
  private readonly reads = new Map<string, Version | null>();
  private readonly writes = new Map<string, Uint8Array | null>();
  private readonly rangeQueries: RangeQueryRecord[] = [];

  constructor(readonly namespace: string) {}

  /** The first version seen is kept: if a later read saw a newer one, the transaction is stale anyway. */
  addRead(key: string, version: Version | undefined): void {
    if (!this.reads.has(key)) this.reads.set(key, version ?? null);
  }

  /** An empty value is a delete, as in Fabric. */
  addWrite(key: string, value: Uint8Array | null): void {
    this.writes.set(key, value && value.length > 0 ? value : null);
  }

  /** Registered when the query starts and filled in as results are fetched. */
  addRangeQuery(record: RangeQueryRecord): void {
    this.rangeQueries.push(record);
  }

  get hasWrites(): boolean {
    return this.writes.size > 0;
  }

  private touched(): boolean {
    return this.reads.size > 0 || this.writes.size > 0 || this.rangeQueries.length > 0;
  }

  build(): Uint8Array {
    if (!this.touched()) return new Uint8Array(0);
    const reads = [...this.reads.keys()].sort(compareUtf8).map((key) => messageField(1, encodeRead(key, this.reads.get(key) ?? null)));
    const ranges = this.rangeQueries.map((rq) =>
      messageField(
        2,
        fields(
          bytesField(1, rq.startKey),
          bytesField(2, rq.endKey),
          varintField(3, rq.exhausted ? 1 : 0),
          messageField(4, fields(...rq.reads.map((r) => messageField(1, encodeRead(r.key, r.version))))),
        ),
      ),
    );
    const writes = [...this.writes.keys()].sort(compareUtf8).map((key) => {
      const value = this.writes.get(key) ?? null;
      return messageField(3, fields(bytesField(1, key), varintField(2, value ? 0 : 1), bytesField(3, value ?? undefined)));
    });
    const kvRwSet = fields(...reads, ...ranges, ...writes);
    return message(messageField(2, fields(bytesField(1, this.namespace), bytesField(2, kvRwSet))));
  }
}
