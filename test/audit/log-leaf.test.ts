import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalRow, LOG_ROW_COLUMNS, type LogRow } from '../../server/audit/canonical-row.js';
import { leafHash } from '../../server/audit/merkle.js';
import type { Database } from '../../server/db/database.js';
import { migrate } from '../../server/db/migrate.js';
import { openDatabase } from '../../server/db/open.js';
import { openPglite } from '../../server/db/pglite.js';
import type { RequestContext } from '../../server/fhir/context.js';
import { logReads, logSearch } from '../../server/repositories/access-log.js';
import { createScratchDatabase } from '../support/postgres.js';

// Strings JSON.stringify escapes (quote, backslash, control characters, short forms), and ones it must leave alone
// (DEL, non-ASCII, astral characters, the line and paragraph separators).
const TRICKY = ['plain', 'quote " and \\ backslash', 'nl \n cr \r tab \t bs \b ff \f', 'ctl \u0001 \u001f \u007f', 'é ü 中文 😀', 'sep \u2028 \u2029', 'lone \uD800 surrogate', '</script>', ''];

async function writeRows(db: Database): Promise<void> {
  for (const [i, name] of TRICKY.entries()) {
    const ctx = { caller: { username: name, ledgerId: `HospitalAMSP/Practitioner/${name}` }, ledgerHeight: 1000 + i } as RequestContext;
    await logReads(db, ctx, [{ patient: `p-${name}`, resourceType: 'DocumentReference', resourceId: `d-${i}`, action: 'read' }]);
    await logSearch(db, ctx, 'DocumentReference', [{ patient: 'p1', id: name }, { patient: 'p1', id: `x${i}` }, { patient: 'p2', id: 'y' }]);
  }
}

/** Rows written without a leaf (by hand, or before migration 014): null purpose, no resource ids, an empty list, sub-millisecond instants. */
async function writeBareRows(db: Database): Promise<void> {
  await db.query(
    `INSERT INTO read_access_log (at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height)
     VALUES (clock_timestamp(), 'u', 'a', 'p', 'Binary', 'b1', NULL, 'download', NULL, 0),
            ('2026-01-02T03:04:05.123456Z', 'u', 'a', 'p', 'DocumentReference', NULL, '{}', 'search', 'TREAT', 9007199254740993)`,
  );
  for (const name of TRICKY) {
    await db.query(
      `INSERT INTO read_access_log (at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height)
       VALUES (clock_timestamp(), $1, $1, $1, 'DocumentReference', NULL, $2::text[], 'search', 'TREAT', 1)`,
      [name, [name, 'x']],
    );
  }
}

const SQL_LEAF = 'consentry_log_leaf(l.seq, l.at, l.username, l.agent, l.patient, l.resource_type, l.resource_id, l.resource_ids, l.action, l.purpose, l.ledger_height)';

/** Rows whose stored leaf (when they have one) or SQL-computed leaf differs from the leaf audit:verify computes. */
async function leavesDiffer(db: Database): Promise<{ rows: number; stored: number; mismatched: string[] }> {
  const { rows } = await db.query<LogRow & { leaf: Uint8Array | null; sql_leaf: Uint8Array }>(`SELECT ${LOG_ROW_COLUMNS}, l.leaf, ${SQL_LEAF} AS sql_leaf FROM read_access_log l ORDER BY l.seq`);
  const mismatched = rows
    .filter((r) => {
      const js = leafHash(canonicalRow(r));
      return !Buffer.from(r.sql_leaf).equals(js) || (r.leaf !== null && !Buffer.from(r.leaf).equals(js));
    })
    .map((r) => canonicalRow(r).toString('utf8'));
  return { rows: rows.length, stored: rows.filter((r) => r.leaf !== null).length, mismatched };
}

describe('read-access log leaves hashed by the database', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
  });
  afterAll(async () => {
    await scratch.drop();
  });

  for (const kind of ['pglite', 'postgresql'] as const) {
    it(`${kind}: every stored leaf equals the leaf audit:verify computes from the row in JavaScript`, async () => {
      const db = await openDatabase(kind === 'pglite' ? { dataDir: null } : { databaseUrl: scratch.url, dataDir: null });
      try {
        await writeRows(db);
        await writeBareRows(db);
        const { rows, stored, mismatched } = await leavesDiffer(db);
        expect(rows).toBe(TRICKY.length * 4 + 2);
        expect(stored).toBe(TRICKY.length * 3);
        expect(mismatched).toEqual([]);
        // the stored leaf is the row as logged: a row altered afterwards no longer matches it (the SQL leaf follows the row)
        await db.query(`UPDATE read_access_log SET username = username || '!' WHERE seq = (SELECT min(seq) FROM read_access_log)`);
        const after = await leavesDiffer(db);
        expect(after.mismatched).toHaveLength(1);
        expect(after.mismatched[0]).toContain('"plain!"');
      } finally {
        await db.close();
      }
    });
  }

  it('an upgraded database: rows logged before migration 014 get their leaf, and anchored batches keep theirs', async () => {
    const all = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'db', 'migrations');
    const before = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-migrations-'));
    for (const f of fs.readdirSync(all).filter((f) => f < '014')) fs.copyFileSync(path.join(all, f), path.join(before, f));
    const db = await openPglite();
    try {
      await migrate(db, before);
      await writeBareRows(db);
      const { rows } = await db.query<LogRow>(`SELECT ${LOG_ROW_COLUMNS} FROM read_access_log l ORDER BY l.seq`);
      const hex = rows.map((r) => leafHash(canonicalRow(r)).toString('hex'));
      await db.query(
        `INSERT INTO audit_anchor_batches (sequence, first_seq, last_seq, seqs, leaves, merkle_root, from_time, to_time, tx_id, block_number)
         VALUES (1, $1, $2, $3::bigint[], $4::text[], 'root', now(), now(), 'tx', 7)`,
        [rows[0].seq, rows[rows.length - 1].seq, rows.map((r) => r.seq), hex],
      );
      expect((await migrate(db, all))[0]).toBe('014_read_log_leaf');
      expect((await leavesDiffer(db)).mismatched).toEqual([]);
      const batch = (await db.query<{ leaves: Uint8Array }>('SELECT leaves FROM audit_anchor_batches')).rows[0];
      expect(Buffer.from(batch.leaves).toString('hex')).toBe(hex.join(''));
    } finally {
      await db.close();
    }
  });
});
