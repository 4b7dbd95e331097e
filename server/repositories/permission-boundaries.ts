import type { Queryable } from '../db/database.js';
import type { QueryCache } from '../db/query-cache.js';

const NEXT_BOUNDARY = `SELECT least(
    (SELECT min(valid_from) FROM ledger_permissions WHERE valid_from > $1),
    (SELECT min(valid_to) FROM ledger_permissions WHERE valid_to > $1)) AS at`;

/**
 * A read decision over the replica stays the same until the ledger changes or some permission starts or
 * ends: this is the next such instant after `nowMs` (Infinity when none is ahead), itself cached.
 */
export async function nextPermissionBoundary(db: Queryable, cache: QueryCache, nowMs: number): Promise<number> {
  return cache.get(
    'permission-boundary',
    async () => {
      const { rows } = await db.query<{ at: Date | string | null }>(NEXT_BOUNDARY, [new Date(nowMs)]);
      const at = rows[0]?.at == null ? Infinity : new Date(rows[0].at).getTime();
      return { value: at, validUntilMs: at };
    },
    nowMs,
  );
}
