import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesData, LocalChangeFeed, UNCACHED_TABLES } from '../../server/db/change-feed.js';
import { openDatabase } from '../../server/db/open.js';
import { QueryCache } from '../../server/db/query-cache.js';
import { createScratchDatabase } from '../support/postgres.js';

/** A promise the test resolves when it chooses: a computation held open while other requests arrive. */
function opening(): { gate: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return { gate, release };
}

describe('QueryCache', () => {
  it('serves a result again until the database changes or its validity ends', async () => {
    const feed = new LocalChangeFeed();
    const cache = new QueryCache(feed);
    let computed = 0;
    const get = (now: number) => cache.get('k', async () => ({ value: ++computed, validUntilMs: 1_000 }), now);
    expect(await get(0)).toBe(1);
    expect(await get(999)).toBe(1);
    expect(await get(1_000)).toBe(2); // a permission started or ended at 1,000
    feed.bump();
    expect(await get(0)).toBe(3);
  });

  it('does not keep a result that raced a change', async () => {
    const feed = new LocalChangeFeed();
    const cache = new QueryCache(feed);
    let computed = 0;
    const racing = () => cache.get('k', async () => {
      computed++;
      feed.bump(); // a write committed while the read ran: what it read may be either side of it
      return { value: computed, validUntilMs: Infinity };
    });
    expect(await racing()).toBe(1);
    expect(await cache.get('k', async () => ({ value: 99, validUntilMs: Infinity }))).toBe(99);
  });

  it('computes once for requests that miss the same key together, and again once the database changed', async () => {
    const feed = new LocalChangeFeed();
    const cache = new QueryCache(feed);
    let computed = 0;
    const { gate, release } = opening();
    const slow = () => cache.get('k', async () => {
      const mine = ++computed;
      await gate;
      return { value: mine, validUntilMs: 1_000 };
    }, 10);
    const together = [slow(), slow(), slow()];
    release();
    expect(await Promise.all(together)).toEqual([1, 1, 1]);
    expect(computed).toBe(1);
    feed.bump();
    expect(await slow()).toBe(2);
  });

  it('does not share a computation with a request whose clock is past what it found valid, nor across a change', async () => {
    const feed = new LocalChangeFeed();
    const cache = new QueryCache(feed);
    let computed = 0;
    const { gate, release } = opening();
    const get = (now: number) => cache.get('k', async () => {
      const mine = ++computed;
      if (mine === 1) await gate;
      return { value: mine, validUntilMs: 1_000 };
    }, now);
    const first = get(10);
    const late = get(1_000); // a permission started or ended at 1,000: the first answer does not hold for it
    feed.bump();
    const afterChange = get(20);
    release();
    expect(await first).toBe(1);
    expect(await afterChange).toBe(2);
    expect(await late).toBe(3);
  });

  it('gives every request that joined a failed computation the failure, and computes again afterwards', async () => {
    const cache = new QueryCache(new LocalChangeFeed());
    let calls = 0;
    const failing = () => cache.get('k', async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      if (calls === 1) throw new Error('database unreachable');
      return { value: 'ok', validUntilMs: Infinity };
    });
    const results = await Promise.allSettled([failing(), failing()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await failing()).toBe('ok');
    expect(calls).toBe(2);
  });

  it('keys the decision instant by identity, never by a value a client could send', () => {
    const at = new Date(5);
    expect(QueryCache.paramsKey(['x', at], at)).toBe(QueryCache.paramsKey(['x', new Date(6)].map((p) => (p instanceof Date ? at : p)), at));
    expect(QueryCache.paramsKey(['x', new Date(5)], at)).not.toBe(QueryCache.paramsKey(['x', at], at));
  });

  it('classifies statements: reads, the read log and a block\'s own bookkeeping change nothing a cache holds', () => {
    expect(changesData('SELECT 1')).toBe(false);
    expect(changesData('  select record FROM ledger_permissions')).toBe(false);
    expect(changesData('INSERT INTO read_access_log (at) VALUES (now())')).toBe(false);
    expect(changesData('INSERT INTO ledger_events (block_number) SELECT 1')).toBe(false);
    expect(changesData('INSERT INTO ledger_checkpoint (channel, next_block) VALUES ($1, $2) ON CONFLICT (channel) DO UPDATE SET next_block = 2')).toBe(false);
    expect(changesData('INSERT INTO ledger_permissions (patient, id) SELECT 1, 2')).toBe(true);
    expect(changesData('INSERT INTO ledger_documents_archive (x) VALUES (1)')).toBe(true);
    expect(changesData('INSERT INTO smart_revoked_tokens (jti) VALUES ($1)')).toBe(true);
    expect(changesData('WITH x AS (DELETE FROM users RETURNING 1) SELECT * FROM x')).toBe(true);
    expect(changesData('UPDATE users SET status = $1')).toBe(true);
  });
});

describe('tables whose writes leave the cache in place', () => {
  const serverDir = new URL('../../server', import.meta.url).pathname;
  const sources = (fs.readdirSync(serverDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => ({ file: f, text: fs.readFileSync(path.join(serverDir, f), 'utf8') }));
  const readsUncached = new RegExp(`\\b(FROM|JOIN)\\s+(${UNCACHED_TABLES.join('|')})\\b`, 'i');

  it('are never read by a module that caches a read, so no cached answer can depend on them', () => {
    const readers = sources.filter((s) => readsUncached.test(s.text)).map((s) => s.file);
    expect(readers.length).toBeGreaterThan(0); // the pattern finds the modules that do read them
    // modules that cache reads, and the one that writes the decision SQL the document cache runs
    const caching = sources.filter((s) => /\bcache\.get\(/.test(s.text) || s.file === path.join('decisions', 'access.ts')).map((s) => s.file);
    expect(caching.length).toBeGreaterThan(0);
    expect(readers.filter((f) => caching.includes(f))).toEqual([]);
  });
});

describe('change feed of the databases', () => {
  it('PGlite: moves after each committed write, not after reads or read-log rows', async () => {
    const db = await openDatabase({ dataDir: null });
    try {
      const start = await db.changes.epoch();
      await db.query('SELECT 1');
      await db.query(`INSERT INTO read_access_log (username, agent, patient, resource_type, resource_id, action, ledger_height) VALUES ('u', 'a', 'p', 'Patient', 'x', 'read', 0)`);
      expect(await db.changes.epoch()).toBe(start);
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('j1', now())`);
        expect(await db.changes.epoch()).toBe(start); // not before it commits
      });
      expect(await db.changes.epoch()).toBeGreaterThan(start);
    } finally {
      await db.close();
    }
  });

  it("PostgreSQL: once one process's write is acknowledged, every other process's next read sees a new epoch", async () => {
    const scratch = await createScratchDatabase();
    const [one, two] = [await openDatabase({ databaseUrl: scratch.url, dataDir: null }), await openDatabase({ databaseUrl: scratch.url, dataDir: null })];
    try {
      let reads = 0;
      const cached = () => two.cache.get('revoked', async () => ({ value: (reads++, (await two.query('SELECT count(*)::int AS n FROM smart_revoked_tokens')).rows[0]), validUntilMs: Infinity }));
      expect(await cached()).toEqual({ n: 0 });
      expect(await cached()).toEqual({ n: 0 });
      expect(reads).toBe(1);
      await one.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('j2', now())`);
      expect(await cached()).toEqual({ n: 1 }); // no waiting: the write's acknowledgement came after the epoch moved
      await one.transaction(async (tx) => {
        await tx.query(`INSERT INTO smart_revoked_tokens (jti, expires_at) VALUES ('j3', now())`);
        expect(await cached()).toEqual({ n: 1 }); // uncommitted: invisible, and the epoch has not moved
      });
      expect(await cached()).toEqual({ n: 2 });
    } finally {
      await one.close();
      await two.close();
      await scratch.drop();
    }
  });
});
