// The contract between the devpeer's ledger (storage, state, history, validation at commit)
// and its gateway/runtime (proposal execution, ordering, events). Both sides code against this.

/** Position of a write: the block and the transaction's index inside it (Fabric's "height"). */
export interface Version {
  blockNum: number;
  txNum: number;
}

export interface VersionedValue {
  value: Uint8Array;
  version: Version;
}

export interface KV {
  key: string;
  value: VersionedValue;
}

export interface HistoryEntry {
  txId: string;
  /** the transaction's channel-header timestamp */
  timestamp: { seconds: number; nanos: number };
  value: Uint8Array;
  isDelete: boolean;
  blockNum: number;
  txNum: number;
}

export interface StoredTransaction {
  blockNum: number;
  txNum: number;
  validationCode: number; // protos.TxValidationCode
  envelope: Uint8Array; // serialized common.Envelope
}

export interface ChainInfo {
  height: number;
  currentBlockHash: Uint8Array;
  previousBlockHash: Uint8Array;
}

export interface CommittedChaincodeEvent {
  chaincodeId: string;
  txId: string;
  eventName: string;
  payload: Uint8Array;
}

export interface CommittedTransaction {
  txId: string;
  validationCode: number;
  /** the transaction's chaincode event, present only when validationCode is VALID */
  event?: CommittedChaincodeEvent;
}

export interface CommittedBlock {
  number: number;
  /** serialized common.Block exactly as stored */
  block: Uint8Array;
  transactions: CommittedTransaction[];
}

/**
 * The ledger of one channel. Reads see only committed state (no read-your-writes).
 * Keys are compared in UTF-8 byte order; range ends are exclusive; '' as end means unbounded.
 */
export interface Ledger {
  readonly channel: string;
  height(): number;
  getState(namespace: string, key: string): VersionedValue | undefined;
  getStateRange(namespace: string, startKey: string, endKey: string): Iterable<KV>;
  /** newest first */
  getHistory(namespace: string, key: string): HistoryEntry[];
  hasTransaction(txId: string): boolean;
  getTransaction(txId: string): StoredTransaction | undefined;
  /** serialized common.Block, or undefined past the height */
  getBlock(blockNum: number): Uint8Array | undefined;
  chainInfo(): ChainInfo;
  /**
   * Validate (structure, duplicate tx id, MVCC and phantom reads against committed state and earlier
   * transactions of the same block), build the hash-chained block with its TRANSACTIONS_FILTER,
   * append it durably (fsync) and only then apply its valid writes to state and history.
   * Callers serialize calls (one block at a time).
   */
  commitBlock(envelopes: Uint8Array[]): Promise<CommittedBlock>;
  close(): Promise<void>;
}
