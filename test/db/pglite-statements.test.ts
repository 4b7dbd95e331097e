import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteStatements } from '../../server/db/pglite-statements.js';

describe('PGlite prepared statements', () => {
  let pg: PGlite;
  let statements: PgliteStatements;

  beforeAll(async () => {
    pg = await PGlite.create();
    await pg.exec(`CREATE TABLE t (id bigserial PRIMARY KEY, at timestamptz, doc jsonb, tags text[], ok boolean, note text)`);
    statements = new PgliteStatements(pg, 2);
  });
  afterAll(() => pg.close());

  it("answers exactly what PGlite's own query answers, for every type, null and repeated runs", async () => {
    const insert = 'INSERT INTO t (at, doc, tags, ok, note) VALUES ($1, $2, $3, $4, $5) RETURNING *';
    const row = [new Date('2026-01-02T03:04:05.678Z'), { a: [1, 'x'] }, ['p', 'q "r"'], true, null];
    const ours = await statements.query<Record<string, unknown>>(insert, row, false);
    const theirs = (await pg.query<Record<string, unknown>>(insert, row)).rows;
    expect({ ...ours[0], id: 0 }).toEqual({ ...theirs[0], id: 0 });
    expect(ours[0]).toMatchObject({ at: row[0], doc: row[1], tags: row[2], ok: true, note: null });
    const select = 'SELECT id, at, doc, tags, ok, note FROM t WHERE id = ANY ($1::bigint[]) ORDER BY id';
    for (let i = 0; i < 3; i++) expect(await statements.query(select, [[ours[0].id, theirs[0].id]], false)).toEqual((await pg.query(select, [[ours[0].id, theirs[0].id]])).rows);
  });

  it('reports errors as PGlite does and stays usable; prepares again after DDL changed a result shape; closes the least used beyond its bound', async () => {
    await expect(statements.query('SELECT * FROM missing_table', [], false)).rejects.toMatchObject({ code: '42P01' });
    await expect(statements.query('SELECT $1::int AS n', ['not a number'], false)).rejects.toMatchObject({ code: '22P02' });
    expect(await statements.query('SELECT $1::int AS n', [7], false)).toEqual([{ n: 7 }]);
    const star = 'SELECT * FROM t ORDER BY id LIMIT 1';
    const before = await statements.query<Record<string, unknown>>(star, [], false);
    await pg.exec('ALTER TABLE t ADD COLUMN extra int DEFAULT 5');
    const after = await statements.query<Record<string, unknown>>(star, [], false);
    expect(after[0]).toEqual({ ...before[0], extra: 5 });
    for (let i = 0; i < 5; i++) expect(await statements.query(`SELECT ${i}::int AS n`, [], false)).toEqual([{ n: i }]);
    const { rows } = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
    expect(rows[0].n).toBeLessThanOrEqual(2);
  });

  it('runs inside a PGlite transaction and rolls back with it', async () => {
    await expect(
      pg.transaction(async () => {
        await statements.query(`INSERT INTO t (note) VALUES ($1)`, ['rolled back'], true);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await statements.query(`SELECT count(*)::int AS n FROM t WHERE note = $1`, ['rolled back'], false)).toEqual([{ n: 0 }]);
  });
});
