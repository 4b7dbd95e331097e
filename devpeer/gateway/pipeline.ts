// Transactions on their way to the orderer: being endorsed, endorsed but not yet submitted, or being
// submitted. The orderer holds a block open for them (up to its timeout) while it holds no more than them,
// so that busy peers cut fewer, larger blocks (one fsync and one block event each) and an idle one cuts at
// once.

/** An endorsement not submitted within this long is no longer expected (the client gave up on it). */
const EXPECT_SUBMIT_MS = 1_000;
/** Bound on endorsements remembered as awaiting their submit. */
const MAX_AWAITING = 4_096;

export class SubmitPipeline {
  /** Endorse and Submit calls in progress */
  private active = 0;
  /** endorsed, not yet submitted: tx id → when (performance.now()), oldest first */
  private readonly awaiting = new Map<string, number>();
  private onSettled: () => void = () => undefined;

  /** `listener` runs whenever a call ends, when fewer transactions may be on their way. */
  whenSettled(listener: () => void): void {
    this.onSettled = listener;
  }

  /**
   * An Endorse or Submit call began; the returned function ends it (calling it again does nothing). `quiet`
   * skips the settled listener, for a Submit whose enqueue is about to make the orderer look anyway.
   */
  begin(): (quiet?: boolean) => void {
    this.active++;
    let ended = false;
    return (quiet = false) => {
      if (ended) return;
      ended = true;
      this.active--;
      if (!quiet) this.onSettled();
    };
  }

  /** `txId` was endorsed; its Submit is expected next. */
  endorsed(txId: string): void {
    this.awaiting.delete(txId);
    if (this.awaiting.size >= MAX_AWAITING) this.awaiting.delete(this.awaiting.keys().next().value as string);
    this.awaiting.set(txId, performance.now());
  }

  /** The Submit of `txId` arrived (it counts as a call in progress from now on). */
  submitting(txId: string): void {
    this.awaiting.delete(txId);
  }

  /** How many transactions are expected to reach the orderer soon. */
  incoming(): number {
    const expired = performance.now() - EXPECT_SUBMIT_MS;
    for (const [txId, at] of this.awaiting) {
      if (at >= expired) break;
      this.awaiting.delete(txId);
    }
    return this.active + this.awaiting.size;
  }
}
