import type { ChangeFeed } from './change-feed.js';

interface Entry {
  value: unknown;
  validUntilMs: number;
}

/**
 * Results of reads that are a pure function of the database (the ledger replica included) and of time up to
 * a known instant. An entry lives while the database has not changed since it was read (the change feed's
 * epoch, which moves after every committed write, a projected block included) and until the instant its
 * computation says it may change by itself (a permission starting or ending). A read that raced a write is
 * returned but not kept.
 *
 * Requests that miss the same key in the same epoch share one computation: after a block every connection's
 * next request misses at once, and computing the same answer once per connection held all of them up.
 */
export class QueryCache {
  private entries = new Map<string, Entry>();
  private inflight = new Map<string, Promise<Entry>>();
  private epoch = -1;

  constructor(
    private readonly changes: ChangeFeed,
    private readonly maxEntries = 20_000,
  ) {}

  async get<T>(key: string, compute: () => Promise<{ value: T; validUntilMs: number }>, nowMs = Date.now()): Promise<T> {
    const epoch = await this.changes.epoch();
    if (epoch !== this.epoch) {
      // only ever forward: an answer from an older read of a shared epoch must not bring old entries back
      if (epoch < this.epoch) return (await compute()).value;
      this.entries.clear();
      this.inflight.clear();
      this.epoch = epoch;
    }
    const hit = this.entries.get(key);
    if (hit && nowMs < hit.validUntilMs) return hit.value as T;
    let pending = this.inflight.get(key);
    const joined = pending !== undefined;
    if (!pending) {
      pending = this.computeAndKeep(key, compute, epoch, nowMs);
      this.inflight.set(key, pending);
      const settled = pending;
      const forget = () => {
        if (this.inflight.get(key) === settled) this.inflight.delete(key);
      };
      settled.then(forget, forget);
    }
    const shared = await pending;
    // computed for an earlier instant (a joiner's clock may be past the validity the computation found)
    if (!joined || nowMs < shared.validUntilMs) return shared.value as T;
    return (await compute()).value;
  }

  private async computeAndKeep<T>(key: string, compute: () => Promise<{ value: T; validUntilMs: number }>, epoch: number, nowMs: number): Promise<Entry> {
    const { value, validUntilMs } = await compute();
    if ((await this.changes.epoch()) === epoch && epoch === this.epoch && nowMs < validUntilMs) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, validUntilMs });
    }
    return { value, validUntilMs };
  }

  /** A key part for statement parameters; `at` (the decision instant) is keyed as such, not by its value. */
  static paramsKey(params: unknown[], at?: Date): string {
    return JSON.stringify(params.map((p) => (at !== undefined && p === at ? '@at' : p)));
  }
}
