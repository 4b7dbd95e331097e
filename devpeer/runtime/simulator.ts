// The peer side of the chaincode protocol for one transaction: answers the real ChaincodeStub's calls
// from the ledger's committed state (never from this transaction's own writes, as in Fabric) and
// records what the chaincode read and wrote into a read-write set.
import { randomUUID } from 'node:crypto';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import type { KV, Ledger } from '../ledger/types.js';
import { ReadWriteSetBuilder, type RangeQueryRecord } from './rwset.js';
import { HistoryQueryIterator, shimProtos, StateQueryIterator, type StubHandler } from './shim.js';

const { Timestamp } = timestampPb; // CommonJS without static named exports
const { peer } = shimProtos;
const queryresult = shimProtos.ledger.queryresult;

/** Results per QueryResponse, like the peer's chaincode handler. */
const BATCH_SIZE = 100;

type QueryResponse = InstanceType<typeof peer.QueryResponse>;

interface OpenQuery {
  /** Fetches up to `limit` more result bytes; `done` when the underlying iterator is exhausted. */
  fetch(limit: number): { results: Uint8Array[]; done: boolean };
}

export class ChaincodeRequestError extends Error {}

export class TxSimulator implements StubHandler {
  readonly rwset: ReadWriteSetBuilder;
  private readonly queries = new Map<string, OpenQuery>();
  private paginatedQueryPerformed = false;

  constructor(
    private readonly ledger: Ledger,
    readonly namespace: string,
    readonly txId: string,
  ) {
    this.rwset = new ReadWriteSetBuilder(namespace);
  }

  /** The serialized TxReadWriteSet; closes any iterator the chaincode left open. */
  finish(): Uint8Array {
    this.queries.clear();
    return this.rwset.build();
  }

  private publicOnly(collection: string): void {
    if (collection) {
      throw new ChaincodeRequestError(
        `collection config not defined for chaincode [${this.namespace}], pass the collection configuration upon chaincode definition/instantiation`,
      );
    }
  }

  private checkWrite(key: string): void {
    if (this.paginatedQueryPerformed) {
      throw new ChaincodeRequestError(`txid [${this.txId}]: the transaction has already performed a paginated query. Writes are not allowed`);
    }
    if (key === '') throw new ChaincodeRequestError('key must not be an empty string');
  }

  async handleGetState(collection: string, key: string): Promise<Buffer> {
    this.publicOnly(collection);
    const current = this.ledger.getState(this.namespace, key);
    this.rwset.addRead(key, current?.version);
    return current ? Buffer.from(current.value) : Buffer.alloc(0);
  }

  async handlePutState(collection: string, key: string, value: Uint8Array): Promise<void> {
    this.publicOnly(collection);
    this.checkWrite(key);
    this.rwset.addWrite(key, Buffer.from(value));
  }

  async handleDeleteState(collection: string, key: string): Promise<void> {
    this.publicOnly(collection);
    this.checkWrite(key);
    this.rwset.addWrite(key, null);
  }

  async handlePurgeState(collection: string): Promise<void> {
    this.publicOnly(collection);
    throw new ChaincodeRequestError('purging is only defined for private data');
  }

  async handleGetPrivateDataHash(collection: string): Promise<Buffer> {
    this.publicOnly(collection);
    throw new ChaincodeRequestError('private data hashes need a collection');
  }

  async handlePutStateMetadata(collection: string): Promise<void> {
    this.publicOnly(collection);
    throw new ChaincodeRequestError('key-level endorsement policies (state metadata) are not supported by the devpeer');
  }

  async handleGetStateMetadata(collection: string): Promise<Record<string, Uint8Array>> {
    this.publicOnly(collection);
    return {};
  }

  async handleGetQueryResult(): Promise<unknown> {
    throw new ChaincodeRequestError('ExecuteQuery not supported for leveldb');
  }

  async handleInvokeChaincode(chaincodeName: string): Promise<unknown> {
    throw new ChaincodeRequestError(`chaincode-to-chaincode invocation of ${chaincodeName} is not supported by the devpeer`);
  }

  async handleGetStateByRange(
    collection: string,
    startKey: string,
    endKey: string,
    channelId: string,
    txId: string,
    metadata?: Uint8Array,
  ): Promise<{ iterator: unknown; metadata?: { bookmark: string; fetchedRecordsCount: number } }> {
    this.publicOnly(collection);
    const id = randomUUID();
    if (metadata && metadata.length > 0) {
      const page = peer.QueryMetadata.deserializeBinary(metadata);
      return this.paginatedRange(id, startKey, endKey, page.getPagesize(), page.getBookmark(), channelId, txId);
    }

    const record: RangeQueryRecord = { startKey, endKey, exhausted: false, reads: [] };
    this.rwset.addRangeQuery(record);
    const source = this.ledger.getStateRange(this.namespace, startKey, endKey)[Symbol.iterator]();
    this.queries.set(id, {
      fetch: (limit) => {
        const results: Uint8Array[] = [];
        while (results.length < limit) {
          const next = source.next();
          if (next.done) {
            record.exhausted = true;
            record.endKey = endKey;
            return { results, done: true };
          }
          // Until exhausted, the range validated at commit ends (inclusively) at the last key read.
          record.reads.push({ key: next.value.key, version: next.value.value.version });
          record.endKey = next.value.key;
          results.push(this.kvBytes(next.value));
        }
        return { results, done: false };
      },
    });
    const response = this.nextBatch(id);
    return { iterator: new StateQueryIterator(this, channelId, txId, response) };
  }

  private paginatedRange(
    id: string,
    startKey: string,
    endKey: string,
    pageSize: number,
    bookmark: string,
    channelId: string,
    txId: string,
  ): { iterator: unknown; metadata: { bookmark: string; fetchedRecordsCount: number } } {
    if (this.rwset.hasWrites) {
      throw new ChaincodeRequestError(`txid [${this.txId}]: unsuccessful attempt to execute a paginated query in a transaction that has writes`);
    }
    this.paginatedQueryPerformed = true;
    const source = this.ledger.getStateRange(this.namespace, bookmark || startKey, endKey)[Symbol.iterator]();
    const results: Uint8Array[] = [];
    let next = source.next();
    while (!next.done && (pageSize <= 0 || results.length < pageSize)) {
      results.push(this.kvBytes(next.value));
      next = source.next();
    }
    const nextBookmark = next.done ? '' : next.value.key;
    const response = this.queryResponse(id, results, false);
    const meta = new peer.QueryResponseMetadata();
    meta.setBookmark(nextBookmark);
    meta.setFetchedRecordsCount(results.length);
    response.setMetadata(meta.serializeBinary());
    return {
      iterator: new StateQueryIterator(this, channelId, txId, response),
      metadata: { bookmark: nextBookmark, fetchedRecordsCount: results.length },
    };
  }

  async handleGetHistoryForKey(key: string, channelId: string, txId: string): Promise<unknown> {
    const id = randomUUID();
    const entries = this.ledger.getHistory(this.namespace, key);
    let pos = 0;
    this.queries.set(id, {
      fetch: (limit) => {
        const results = entries.slice(pos, pos + limit).map((entry) => {
          const mod = new queryresult.KeyModification();
          mod.setTxId(entry.txId);
          mod.setValue(entry.value);
          mod.setIsDelete(entry.isDelete);
          const ts = new Timestamp();
          ts.setSeconds(entry.timestamp.seconds);
          ts.setNanos(entry.timestamp.nanos);
          mod.setTimestamp(ts);
          return mod.serializeBinary();
        });
        pos += results.length;
        return { results, done: pos >= entries.length && results.length < limit };
      },
    });
    return new HistoryQueryIterator(this, channelId, txId, this.nextBatch(id));
  }

  async handleQueryStateNext(id: string): Promise<QueryResponse> {
    if (!this.queries.has(id)) throw new ChaincodeRequestError('query iterator not found');
    return this.nextBatch(id);
  }

  async handleQueryStateClose(id: string): Promise<QueryResponse> {
    this.queries.delete(id);
    return this.queryResponse(id, [], false);
  }

  private nextBatch(id: string): QueryResponse {
    const query = this.queries.get(id);
    if (!query) throw new ChaincodeRequestError('query iterator not found');
    const { results, done } = query.fetch(BATCH_SIZE);
    if (done) this.queries.delete(id);
    return this.queryResponse(id, results, !done);
  }

  private queryResponse(id: string, results: Uint8Array[], hasMore: boolean): QueryResponse {
    const response = new peer.QueryResponse();
    response.setId(id);
    response.setHasMore(hasMore);
    response.setResultsList(
      results.map((bytes) => {
        const r = new peer.QueryResultBytes();
        r.setResultbytes(bytes);
        return r;
      }),
    );
    return response;
  }

  private kvBytes(entry: KV): Uint8Array {
    const kv = new queryresult.KV();
    kv.setNamespace(this.namespace);
    kv.setKey(entry.key);
    kv.setValue(entry.value.value);
    return kv.serializeBinary();
  }
}
