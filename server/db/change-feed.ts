/**
 * Where a cache learns that the hospital's database may have changed in a way a cached read could depend on.
 * `epoch()` moves after every committed write (a projected block included) and never before it commits, so
 * a request that starts after a write was acknowledged sees a newer epoch than any read that preceded it.
 */
export interface ChangeFeed {
  epoch(): number | Promise<number>;
}

/** PGlite: the database belongs to this process, so every write passes through here. */
export class LocalChangeFeed implements ChangeFeed {
  private value = 0;

  epoch(): number {
    return this.value;
  }

  bump(): void {
    this.value++;
  }
}

// Tables only ever appended to and never read by a cached query: writing them invalidates nothing.
const APPEND_ONLY = /^\s*INSERT\s+INTO\s+(read_access_log|audit_anchor_batches)\b/i;
const READ_ONLY = /^\s*(SELECT|SHOW|EXPLAIN|VALUES|LOCK)\b/i;

/** Does this statement possibly change rows a cached read depends on? (A WITH … may hide a write: assume so.) */
export function changesData(sql: string): boolean {
  if (APPEND_ONLY.test(sql)) return false;
  return !READ_ONLY.test(sql);
}
