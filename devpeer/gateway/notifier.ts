// Commit notifications: transaction status waiters (CommitStatus) and block listeners (event streams),
// fed by the orderer after each block's commit resolved, with the last blocks kept for catch-up readers.
import type { CommittedBlock, CommittedTransaction, Ledger } from '../ledger/types.js';

export interface TxStatus {
  code: number;
  blockNumber: number;
}

const RECENT_BLOCKS = 256;
/** Statuses of this many recent transactions are answered from memory, without reading the block file. */
const RECENT_STATUSES = 50_000;

export class CommitNotifier {
  private readonly waiters = new Map<string, Set<(status: TxStatus) => void>>();
  private readonly listeners = new Set<() => void>();
  private readonly recent = new Map<number, CommittedTransaction[]>();
  /** txId → blockNumber × 256 + validation code (a number, not an object per transaction) */
  private readonly recentStatus = new Map<string, number>();
  private failure: Error | undefined;
  private readonly failureListeners = new Set<(err: Error) => void>();

  constructor(private readonly ledger: Ledger) {}

  blockCommitted(block: CommittedBlock): void {
    // Cached event payloads are copied out of the envelopes they point into, which can then be collected.
    this.recent.set(
      block.number,
      block.transactions.map((tx) => (tx.event ? { ...tx, event: { ...tx.event, payload: Uint8Array.from(tx.event.payload) } } : tx)),
    );
    this.recent.delete(block.number - RECENT_BLOCKS);
    for (const tx of block.transactions) {
      if (!this.recentStatus.has(tx.txId)) {
        this.recentStatus.set(tx.txId, block.number * 256 + tx.validationCode);
        if (this.recentStatus.size > RECENT_STATUSES) this.recentStatus.delete(this.recentStatus.keys().next().value as string);
      }
      const waiting = this.waiters.get(tx.txId);
      if (!waiting) continue;
      // A later duplicate in the same block must not override the first occurrence's status.
      this.waiters.delete(tx.txId);
      for (const resolve of waiting) resolve({ code: tx.validationCode, blockNumber: block.number });
    }
    for (const listener of [...this.listeners]) listener();
  }

  /** The committer failed: nothing will commit any more. */
  failed(err: Error): void {
    this.failure = err;
    for (const listener of [...this.failureListeners]) listener(err);
    for (const listener of [...this.listeners]) listener();
  }

  /** Wakes every block listener without a block (shutdown: they check whether to stop). */
  wakeListeners(): void {
    for (const listener of [...this.listeners]) listener();
  }

  get failedWith(): Error | undefined {
    return this.failure;
  }

  /** The status of a committed transaction, waiting for it to commit if it has not yet. */
  txStatus(txId: string, signal: AbortSignal): Promise<TxStatus> {
    return new Promise<TxStatus>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const recent = this.recentStatus.get(txId);
      if (recent !== undefined) return resolve({ code: recent % 256, blockNumber: Math.floor(recent / 256) });
      const stored = this.ledger.hasTransaction(txId) ? this.ledger.getTransaction(txId) : undefined;
      if (stored) return resolve({ code: stored.validationCode, blockNumber: stored.blockNum });
      let waiting = this.waiters.get(txId);
      if (!waiting) {
        waiting = new Set();
        this.waiters.set(txId, waiting);
      }
      const onStatus = (status: TxStatus): void => {
        cleanup();
        resolve(status);
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      const onFailure = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const cleanup = (): void => {
        const set = this.waiters.get(txId);
        set?.delete(onStatus);
        if (set && set.size === 0) this.waiters.delete(txId);
        signal.removeEventListener('abort', onAbort);
        this.failureListeners.delete(onFailure);
      };
      waiting.add(onStatus);
      this.failureListeners.add(onFailure);
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    });
  }

  /** Calls `listener` after each committed block (and on failure) until the returned function is called. */
  onBlock(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Transactions of a recently committed block, if still cached. */
  recentBlock(blockNumber: number): CommittedTransaction[] | undefined {
    return this.recent.get(blockNumber);
  }
}
