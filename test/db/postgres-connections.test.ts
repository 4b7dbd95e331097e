import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.js';
import { createScratchDatabase, POSTGRES_ADMIN_URL } from '../support/postgres.js';

describe('PostgreSQL connections', () => {
  it('an idle connection the server ends (a restart, a failover) is logged and replaced; the process goes on', async () => {
    const scratch = await createScratchDatabase();
    const logged: string[] = [];
    const db = await openDatabase({ databaseUrl: scratch.url, dataDir: null, log: (m) => logged.push(m) });
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.01)'))); // several connections, now idle in the pool
      const name = new URL(scratch.url).pathname.slice(1);
      const { rows } = await admin.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      expect(rows.length).toBeGreaterThan(0);
      for (let i = 0; i < 100 && logged.length < rows.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(logged.length).toBe(rows.length);
      expect(logged[0]).toMatch(/closed while idle/);
      // the next statements run on new connections, and a write still moves the cache epoch
      const before = await db.changes.epoch();
      await db.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('after-restart', now())`);
      expect(await db.changes.epoch()).toBeGreaterThan(before);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM smart_revoked_tokens')).rows[0].n).toBe(1);
    } finally {
      await admin.end();
      await db.close();
      await scratch.drop();
    }
  });

  it('a connection ended inside a transaction fails that transaction, writes nothing, and is not used again', async () => {
    const scratch = await createScratchDatabase();
    const db = await openDatabase({ databaseUrl: scratch.url, dataDir: null, log: () => undefined });
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      const attempt = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('in-flight', now())`);
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        await new Promise((r) => setTimeout(r, 100)); // the client hears of it between two statements
        await tx.query('SELECT 1');
      });
      await expect(attempt).rejects.toThrow();
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM smart_revoked_tokens')).rows[0].n).toBe(0);
      await db.transaction(async (tx) => tx.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('next', now())`));
      expect((await db.query<{ jti: string }>('SELECT jti FROM smart_revoked_tokens')).rows).toEqual([{ jti: 'next' }]);
    } finally {
      await admin.end();
      await db.close();
      await scratch.drop();
    }
  });
});
