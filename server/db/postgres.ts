import pg from 'pg';
import type { Database, Queryable } from './database.js';

// BIGINT (int8) as JS number: block numbers and sizes stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

export async function openPostgres(connectionString: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: 10 });
  const client = await pool.connect(); // fail fast on a bad URL
  client.release();
  const query: Queryable['query'] = async <Row>(sql: string, params?: unknown[]) => {
    const result = await pool.query(sql, params);
    return { rows: result.rows as Row[] };
  };
  return {
    kind: 'postgres',
    query,
    exec: async (sql) => {
      await pool.query(sql);
    },
    async transaction(fn) {
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const result = await fn({
          exec: async (sql: string) => {
            await conn.query(sql);
          },
          query: async <Row>(sql: string, params?: unknown[]) => ({ rows: (await conn.query(sql, params)).rows as Row[] }),
        });
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
    close: () => pool.end(),
  };
}
