import path from 'node:path';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

/** DATABASE_URL → PostgreSQL; otherwise PGlite under <dataDir>/db (or in memory when dataDir is null). */
export async function openDatabase(opts: { databaseUrl?: string; dataDir: string | null; log?: (msg: string) => void }): Promise<Database> {
  const db = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.log)
    : await openPglite(opts.dataDir === null ? undefined : path.join(opts.dataDir, 'db'));
  await migrate(db);
  return db;
}
