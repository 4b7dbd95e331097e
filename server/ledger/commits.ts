import type { CloseableAsyncIterable, Network, Status } from '@hyperledger/fabric-gateway';
import type { peer } from '@hyperledger/fabric-protos';

export type TxCommit = Pick<Status, 'code' | 'blockNumber'>;

/** A transaction being watched; `status` is undefined when the stream cannot tell (then ask CommitStatus). */
export interface Watch {
  status: Promise<TxCommit | undefined>;
  cancel(): void;
}

interface Waiter {
  resolve(commit: TxCommit | undefined): void;
  since: number;
}

/** After this long without a block naming the transaction, the caller asks CommitStatus instead. */
const FALLBACK_AFTER_MS = 5_000;
/** A failed stream is not reopened sooner than this. */
const REOPEN_AFTER_MS = 1_000;

/**
 * Commit statuses of one channel from a single filtered-block stream (Deliver), instead of one signed
 * CommitStatus call per transaction: the peer reports a block only once it is durably committed, and
 * each FilteredTransaction carries the validation code CommitStatus would return. Blocks arrive in order,
 * so once the stream has delivered a block, every transaction submitted later appears in a block it will
 * deliver; until then (and whenever the stream fails) callers fall back to CommitStatus.
 */
export class CommitWatcher {
  private events?: CloseableAsyncIterable<peer.FilteredBlock>;
  private opening = false;
  private live = false;
  private closed = false;
  private failedAt = 0;
  private readonly waiters = new Map<string, Waiter>();
  private sweeper?: NodeJS.Timeout;

  /** True once the stream has delivered a block (from then on it answers for every new transaction). */
  get isLive(): boolean {
    return this.live;
  }

  /** Registers `txId` before it is submitted; undefined when the stream cannot promise to see it yet. */
  watch(txId: string, network: Network): Watch | undefined {
    if (!this.live) {
      this.open(network);
      return undefined;
    }
    let resolve!: (commit: TxCommit | undefined) => void;
    const status = new Promise<TxCommit | undefined>((r) => (resolve = r));
    this.waiters.set(txId, { resolve, since: performance.now() });
    return { status, cancel: () => this.settle(txId, undefined) };
  }

  close(): void {
    this.closed = true;
    this.events?.close();
    this.stop();
  }

  private settle(txId: string, commit: TxCommit | undefined): void {
    const waiter = this.waiters.get(txId);
    if (!waiter) return;
    this.waiters.delete(txId);
    waiter.resolve(commit);
  }

  private open(network: Network): void {
    if (this.opening || this.closed || performance.now() - this.failedAt < REOPEN_AFTER_MS) return;
    this.opening = true;
    void this.follow(network);
  }

  private async follow(network: Network): Promise<void> {
    try {
      const events = await network.getFilteredBlockEvents();
      if (this.closed) {
        events.close();
        return;
      }
      this.events = events;
      this.sweeper = setInterval(() => this.sweep(), 1_000);
      this.sweeper.unref();
      for await (const block of this.events) {
        const blockNumber = BigInt(block.getNumber());
        for (const tx of block.getFilteredTransactionsList()) {
          if (this.waiters.size === 0) break;
          this.settle(tx.getTxid(), { code: tx.getTxValidationCode(), blockNumber });
        }
        this.live = true;
      }
    } catch {
      // a broken or refused stream: CommitStatus answers until it is reopened
    } finally {
      this.failedAt = performance.now();
      this.stop();
    }
  }

  private stop(): void {
    this.live = false;
    this.opening = false;
    this.events = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const txId of [...this.waiters.keys()]) this.settle(txId, undefined);
  }

  private sweep(): void {
    const before = performance.now() - FALLBACK_AFTER_MS;
    for (const [txId, waiter] of this.waiters) {
      if (waiter.since < before) this.settle(txId, undefined);
    }
  }
}
