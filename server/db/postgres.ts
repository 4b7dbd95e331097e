import pg from 'pg';
import { changesData } from './change-feed.js';
import type { Database, Queryable } from './database.js';
import { QueryCache } from './query-cache.js';
import { SharedChangeFeed } from './shared-change-feed.js';

// BIGINT (int8) as JS number: block numbers and sizes stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

export async function openPostgres(connectionString: string, log: (msg: string) => void = console.error): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: 10 });
  // an idle connection the server ends (restart, failover, pg_terminate_backend) is dropped by the pool and the next
  // query opens another; without a listener the error event would end the process
  pool.on('error', (err) => log(`a PostgreSQL connection closed while idle (the pool opens another): ${err.message}`));
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  await SharedChangeFeed.install(pool);
  const changes = new SharedChangeFeed(pool);
  // a write is acknowledged to its caller only after the change sequence moved past it
  const query: Queryable['query'] = async <Row>(sql: string, params?: unknown[]) => {
    if (!changesData(sql)) return { rows: (await pool.query(sql, params)).rows as Row[] };
    try {
      return { rows: (await pool.query(sql, params)).rows as Row[] };
    } finally {
      await changes.advance();
    }
  };
  return {
    kind: 'postgres',
    changes,
    cache: new QueryCache(changes),
    query,
    exec: async (sql) => {
      try {
        await pool.query(sql);
      } finally {
        await changes.advance();
      }
    },
    async transaction(fn) {
      const conn = await pool.connect();
      let wrote = false;
      // ended by the server between two statements: the next one fails, and the connection is not reused
      let broken: Error | undefined;
      const onError = (err: Error) => (broken = err);
      conn.on('error', onError);
      try {
        await conn.query('BEGIN');
        const result = await fn({
          exec: async (sql: string) => {
            wrote = true;
            await conn.query(sql);
          },
          query: async <Row>(sql: string, params?: unknown[]) => {
            wrote ||= changesData(sql);
            return { rows: (await conn.query(sql, params)).rows as Row[] };
          },
        });
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.off('error', onError);
        conn.release(broken);
        if (wrote) await changes.advance();
      }
    },
    close: () => pool.end(),
  };
}
