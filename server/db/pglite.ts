import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { changesData, LocalChangeFeed } from './change-feed.js';
import type { Database, Queryable } from './database.js';
import { PgliteStatements } from './pglite-statements.js';
import { QueryCache } from './query-cache.js';

/**
 * dataDir undefined = in memory (tests). PGlite is single-connection and owned by this process, so every
 * change goes through here and the change feed sees it.
 */
export async function openPglite(dataDir?: string): Promise<Database> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  const changes = new LocalChangeFeed();
  const statements = new PgliteStatements(pg);
  const wrap = (q: Pick<PGlite, 'exec'>, inTransaction: boolean, onWrite: () => void): Queryable => ({
    exec: async (sql: string) => {
      try {
        await q.exec(sql);
      } finally {
        onWrite();
      }
    },
    query: async <Row>(sql: string, params: unknown[] = []) => {
      if (!changesData(sql)) return { rows: await statements.query<Row>(sql, params, inTransaction) };
      try {
        return { rows: await statements.query<Row>(sql, params, inTransaction) };
      } finally {
        onWrite();
      }
    },
  });
  return {
    kind: 'pglite',
    changes,
    cache: new QueryCache(changes),
    ...wrap(pg, false, () => changes.bump()),
    async transaction(fn) {
      let wrote = false;
      try {
        return await pg.transaction((tx) => fn(wrap(tx, true, () => (wrote = true))));
      } finally {
        if (wrote) changes.bump(); // after commit or rollback: a read between the two may have seen either
      }
    },
    close: () => pg.close(),
  };
}
