import type { ChangeFeed } from './change-feed.js';
import type { QueryCache } from './query-cache.js';

/** The hospital's database: PostgreSQL in production, PGlite (embedded PostgreSQL) by default. */
export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Moves after every committed change, ours or (PostgreSQL) a sibling process's: see QueryCache. */
  readonly changes: ChangeFeed;
  /** Reads that stay valid until the next change (see QueryCache), shared by this process's repositories. */
  readonly cache: QueryCache;
  /** Runs fn in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
