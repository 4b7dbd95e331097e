import type pg from 'pg';
import type { ChangeFeed } from './change-feed.js';

/** A sequence every process of the hospital advances after each committed write it makes. */
export const CHANGE_SEQUENCE = 'consentry_changes';
// any constant, distinct from the migration lock
const INSTALL_LOCK = 7_340_913;

/**
 * PostgreSQL, shared by several processes: the epoch is the change sequence's current value, read from the
 * database. Concurrent readers share one read, but only one that started after they asked: a read already in
 * flight might predate a write whose acknowledgement they have seen.
 */
export class SharedChangeFeed implements ChangeFeed {
  private inFlight?: Promise<number>;
  private next?: Promise<number>;

  constructor(private readonly pool: pg.Pool) {}

  /** Before migrations (they are writes, announced here), serialized: IF NOT EXISTS alone races in PostgreSQL. */
  static async install(pool: pg.Pool): Promise<void> {
    const conn = await pool.connect();
    try {
      await conn.query('BEGIN');
      await conn.query('SELECT pg_advisory_xact_lock($1)', [INSTALL_LOCK]);
      await conn.query(`CREATE SEQUENCE IF NOT EXISTS ${CHANGE_SEQUENCE}`);
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  epoch(): Promise<number> {
    if (!this.inFlight) return (this.inFlight = this.read());
    this.next ??= this.inFlight.catch(() => undefined).then(() => {
      this.next = undefined;
      return (this.inFlight = this.read());
    });
    return this.next;
  }

  /** After a write committed: every cache of the hospital must stop serving what preceded it. */
  async advance(): Promise<void> {
    await this.pool.query(`SELECT nextval('${CHANGE_SEQUENCE}')`);
  }

  private async read(): Promise<number> {
    try {
      const { rows } = await this.pool.query<{ v: number }>(`SELECT last_value AS v FROM ${CHANGE_SEQUENCE}`);
      return Number(rows[0].v);
    } finally {
      this.inFlight = undefined;
    }
  }
}
