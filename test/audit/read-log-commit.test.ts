import { describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/open.js';
import type { RequestContext } from '../../server/fhir/context.js';
import { logRead, logReads } from '../../server/repositories/access-log.js';

/** The real PGlite, with the read log's INSERT statements counted (and failed on demand). */
async function countingDatabase() {
  const db = await openDatabase({ dataDir: null });
  const counts = { inserts: 0, fail: false };
  const counted: Database = {
    ...db,
    query: async (sql, params) => {
      if (/^INSERT INTO read_access_log/.test(sql)) {
        counts.inserts++;
        if (counts.fail) throw new Error('disk full');
      }
      return db.query(sql, params);
    },
  } as Database;
  return { db: counted, counts, close: () => db.close() };
}

const ctxOf = (i: number) => ({ caller: { username: `u${i}`, ledgerId: `HospitalAMSP/Practitioner/u${i}` }, ledgerHeight: 3 }) as RequestContext;
const read = (i: number) => ({ patient: `p${i % 7}`, resourceType: 'DocumentReference', resourceId: `d${i}`, action: 'read' as const });

describe('read-access log group commit', () => {
  it('a lone read is committed on its own statement, and is in the table when its promise resolves', async () => {
    const { db, counts, close } = await countingDatabase();
    try {
      for (let i = 0; i < 5; i++) {
        await logRead(db, ctxOf(i), read(i));
        const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log');
        expect(Number(rows[0].n)).toBe(i + 1);
      }
      expect(counts.inserts).toBe(5);
    } finally {
      await close();
    }
  });

  it('reads arriving together share statements, every one is logged exactly once before it resolves', async () => {
    const { db, counts, close } = await countingDatabase();
    try {
      const waves = 20;
      const perWave = 50;
      for (let w = 0; w < waves; w++) {
        // a steady stream, as from many connections: a few reads every turn of the event loop
        const pending: Promise<void>[] = [];
        for (let i = 0; i < perWave; i++) {
          pending.push(logReads(db, ctxOf(w * perWave + i), [read(w * perWave + i)]));
          if (i % 3 === 2) await new Promise((r) => setImmediate(r));
        }
        await Promise.all(pending);
      }
      const { rows } = await db.query<{ n: string; distinct_ids: string }>('SELECT count(*)::text AS n, count(DISTINCT resource_id)::text AS distinct_ids FROM read_access_log');
      expect(rows[0]).toEqual({ n: String(waves * perWave), distinct_ids: String(waves * perWave) });
      expect(counts.inserts).toBeLessThanOrEqual((waves * perWave) / 10);
    } finally {
      await close();
    }
  });

  it('a failed statement fails every read waiting on it, and the log keeps working afterwards', async () => {
    const { db, counts, close } = await countingDatabase();
    try {
      counts.fail = true;
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => logRead(db, ctxOf(i), read(i))));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      counts.fail = false;
      await Promise.all(Array.from({ length: 10 }, (_, i) => logRead(db, ctxOf(i), read(i))));
      const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log');
      expect(rows[0].n).toBe('10');
    } finally {
      await close();
    }
  });
});
