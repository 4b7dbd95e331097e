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
 */
export class QueryCache {
  private entries = new Map<string, Entry>();
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
      this.epoch = epoch;
    }
    const hit = this.entries.get(key);
    if (hit && nowMs < hit.validUntilMs) return hit.value as T;
    const { value, validUntilMs } = await compute();
    if ((await this.changes.epoch()) === epoch && epoch === this.epoch && nowMs < validUntilMs) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, validUntilMs });
    }
    return value;
  }

  /** A key part for statement parameters; `at` (the decision instant) is keyed as such, not by its value. */
  static paramsKey(params: unknown[], at?: Date): string {
    return JSON.stringify(params.map((p) => (at !== undefined && p === at ? '@at' : p)));
  }
}
