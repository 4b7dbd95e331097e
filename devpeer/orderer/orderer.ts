// A solo orderer inside the peer: collects submitted envelopes, cuts a block when it holds `maxTx`
// transactions or `maxBytes`, `timeoutMs` after its first transaction arrived, or as soon as it holds more
// transactions than are still on their way to it (`incoming`), and hands blocks to the committer strictly
// one at a time. A block is reported only once the commit (which fsyncs) resolved.
import type { CommittedBlock } from '../ledger/types.js';

export interface OrdererOptions {
  maxTx: number;
  timeoutMs: number;
  maxBytes: number;
  commit(envelopes: Uint8Array[]): Promise<CommittedBlock>;
  onBlock(block: CommittedBlock): void;
  /** the committer failed; the orderer accepts nothing more */
  onFailure(err: unknown): void;
  /**
   * How many transactions are expected to be submitted soon. A block waits for them (at most `timeoutMs`)
   * only while it holds no more than that, so a lone transaction is cut at once and concurrent ones share
   * a block. Without it, every block waits out `timeoutMs` unless full.
   */
  incoming?(): number;
}

export class OrdererUnavailableError extends Error {}

interface Pending {
  envelope: Uint8Array;
  arrivedAt: number;
}

export class Orderer {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private committing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private failure: unknown;
  private drained: (() => void) | undefined;

  constructor(private readonly opts: OrdererOptions) {}

  /** Accepts an envelope for ordering (Fabric's Broadcast): returns once queued, before commit. */
  enqueue(envelope: Uint8Array): void {
    if (this.failure !== undefined) throw new OrdererUnavailableError(`the ledger failed: ${describe(this.failure)}`);
    if (this.stopping) throw new OrdererUnavailableError('the orderer is shutting down');
    this.pending.push({ envelope, arrivedAt: performance.now() });
    this.pendingBytes += envelope.length;
    if (!this.committing) this.schedule();
  }

  get queued(): number {
    return this.pending.length;
  }

  /** Fewer transactions may be on their way than before: cut the waiting block if it need not wait. */
  reconsider(): void {
    if (!this.committing) this.schedule();
  }

  /** Stops accepting, commits what is queued, and resolves when the last block is committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.committing && this.pending.length > 0 && this.failure === undefined) void this.cut();
    if (!this.committing) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }

  private full(): boolean {
    return this.pending.length >= this.opts.maxTx || this.pendingBytes >= this.opts.maxBytes;
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.failure !== undefined) return;
    const waited = performance.now() - this.pending[0].arrivedAt;
    if (this.stopping || this.full() || waited >= this.opts.timeoutMs || this.nothingToWaitFor()) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      void this.cut();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.committing) void this.cut();
      }, this.opts.timeoutMs - waited);
    }
  }

  private nothingToWaitFor(): boolean {
    return this.opts.incoming !== undefined && this.pending.length > this.opts.incoming();
  }

  private takeBatch(): Uint8Array[] {
    const batch: Uint8Array[] = [];
    let bytes = 0;
    while (this.pending.length > 0 && batch.length < this.opts.maxTx) {
      const next = this.pending[0];
      if (batch.length > 0 && bytes + next.envelope.length > this.opts.maxBytes) break;
      this.pending.shift();
      batch.push(next.envelope);
      bytes += next.envelope.length;
    }
    this.pendingBytes -= bytes;
    return batch;
  }

  private async cut(): Promise<void> {
    if (this.committing || this.pending.length === 0) return;
    this.committing = true;
    const batch = this.takeBatch();
    try {
      const block = await this.opts.commit(batch);
      this.opts.onBlock(block);
    } catch (err) {
      this.failure = err;
      this.pending = [];
      this.pendingBytes = 0;
      this.opts.onFailure(err);
    } finally {
      this.committing = false;
    }
    if (this.pending.length > 0 && this.failure === undefined) {
      this.schedule();
    } else if (this.drained) {
      this.drained();
      this.drained = undefined;
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
