import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.js';
import { createScratchDatabase } from '../support/postgres.js';

describe('database migrations', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
  });
  afterAll(async () => {
    await scratch.drop();
  });

  it('PGlite under the data folder: migrates once and keeps data across reopen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-db-'));
    const db = await openDatabase({ dataDir: dir });
    await db.query(`INSERT INTO ledger_checkpoint (channel, next_block) VALUES ('c', 7)`);
    await db.close();
    const again = await openDatabase({ dataDir: dir });
    const { rows } = await again.query<{ next_block: number }>('SELECT next_block FROM ledger_checkpoint');
    expect(rows).toEqual([{ next_block: 7 }]);
    const versions = await again.query<{ version: string }>('SELECT version FROM schema_migrations');
    expect(versions.rows.map((r) => r.version)).toContain('001_ledger_projection');
    await again.close();
  });

  it('PostgreSQL: two processes migrating at once apply each migration exactly once', async () => {
    const [a, b] = await Promise.all([openDatabase({ databaseUrl: scratch.url, dataDir: null }), openDatabase({ databaseUrl: scratch.url, dataDir: null })]);
    const { rows } = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0].n).toBe(fs.readdirSync(new URL('../../server/db/migrations', import.meta.url)).length);
    await Promise.all([a.close(), b.close()]);
  });

  it('a failing statement inside a transaction rolls back everything it wrote', async () => {
    const db = await openDatabase({ databaseUrl: scratch.url, dataDir: null });
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ledger_checkpoint (channel, next_block) VALUES ('rollback', 1)`);
        await tx.query('SELECT * FROM no_such_table');
      }),
    ).rejects.toThrow(/no_such_table/);
    const { rows } = await db.query(`SELECT * FROM ledger_checkpoint WHERE channel = 'rollback'`);
    expect(rows).toEqual([]);
    await db.close();
  });
});
