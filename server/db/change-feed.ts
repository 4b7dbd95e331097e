/**
 * Where a cache learns that the hospital's database may have changed in a way a cached read could depend on.
 * `epoch()` moves after every committed write a cached read may depend on (a projected block that changes a
 * permission, a document or a member included) and never before it commits, so a request that starts after
 * such a write was acknowledged sees a newer epoch than any read that preceded it.
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

/**
 * Tables no cached read (QueryCache) depends on: the read-access log and its anchor batches, the parts of a
 * projected block that record it rather than decide anything (its events, the audit anchors it carries, the
 * checkpoint), and how far the key-sharing task has followed those blocks. Writing only these invalidates nothing,
 * so a block that carries only an audit anchor (several a second under load) leaves every cached decision in place.
 * A cached read that ever queries one of these tables must take it off this list.
 */
export const UNCACHED_TABLES = ['read_access_log', 'audit_anchor_batches', 'ledger_events', 'ledger_audit_anchors', 'ledger_checkpoint', 'grantee_key_checkpoint'] as const;
const UNCACHED_WRITE = new RegExp(`^\\s*INSERT\\s+INTO\\s+(${UNCACHED_TABLES.join('|')})\\b`, 'i');
const READ_ONLY = /^\s*(SELECT|SHOW|EXPLAIN|VALUES|LOCK)\b/i;

/** Does this statement possibly change rows a cached read depends on? (A WITH … may hide a write: assume so.) */
export function changesData(sql: string): boolean {
  if (UNCACHED_WRITE.test(sql)) return false;
  return !READ_ONLY.test(sql);
}
