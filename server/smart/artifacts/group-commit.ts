import type { Queryable } from '../../db/database.js';

export type WriteOp =
  | { kind: 'upsert'; model: string; id: string; payload: unknown; grantId: string | null; uid: string | null; expiresAt: number | null }
  | { kind: 'consume'; model: string; id: string }
  | { kind: 'delete'; model: string; id: string }
  /** model null: every artifact of the grant and the Grant itself */
  | { kind: 'deleteGrant'; model: string | null; grantId: string };

interface Pending {
  op: WriteOp;
  done: { resolve(): void; reject(err: unknown): void };
}

/**
 * Group commit: the writes requested during one turn of the event loop are written together, in order,
 * one statement per run of writes of the same kind, and each caller resumes once its write is durable.
 * Concurrent token requests thus share the cost of a statement instead of paying one each.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly db: Queryable) {}

  write(op: WriteOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, done: { resolve, reject } });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.queue;
          this.queue = [];
          // batches are written one after the other, so writes keep their order
          this.chain = this.chain.then(() => this.flush(batch));
        });
      }
    });
  }

  /** Resolves when everything queued so far is written. */
  async idle(): Promise<void> {
    while (this.queue.length || this.scheduled) await new Promise((r) => setImmediate(r));
    await this.chain;
  }

  private async flush(batch: Pending[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      let j = i + 1;
      while (j < batch.length && batch[j].op.kind === batch[i].op.kind) j++;
      const run = batch.slice(i, j);
      try {
        await this.writeRun(run.map((p) => p.op));
        for (const p of run) p.done.resolve();
      } catch (err) {
        for (const p of run) p.done.reject(err);
      }
      i = j;
    }
  }

  private async writeRun(ops: WriteOp[]): Promise<void> {
    switch (ops[0].kind) {
      case 'upsert': {
        // one row per key: the last write of a key in the run wins
        const rows = [...new Map((ops as Extract<WriteOp, { kind: 'upsert' }>[]).map((o) => [`${o.model}\0${o.id}`, o])).values()];
        const params: unknown[] = [];
        const values = rows.map((o) => {
          params.push(o.model, o.id, JSON.stringify(o.payload), o.grantId, o.uid, o.expiresAt === null ? null : o.expiresAt / 1000);
          const n = params.length;
          return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, to_timestamp($${n}::float8))`;
        });
        await this.db.query(
          `INSERT INTO oauth_artifacts (model, id, payload, grant_id, uid, expires_at) VALUES ${values.join(', ')}
           ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
          params,
        );
        return;
      }
      case 'consume':
      case 'delete': {
        const keys = ops as { model: string; id: string }[];
        const set = ops[0].kind === 'consume' ? 'UPDATE oauth_artifacts SET consumed_at = now()' : 'DELETE FROM oauth_artifacts';
        await this.db.query(`${set} WHERE (model, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [keys.map((k) => k.model), keys.map((k) => k.id)]);
        return;
      }
      case 'deleteGrant': {
        for (const o of ops as Extract<WriteOp, { kind: 'deleteGrant' }>[]) {
          if (o.model === null) await this.db.query(`DELETE FROM oauth_artifacts WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`, [o.grantId]);
          else await this.db.query('DELETE FROM oauth_artifacts WHERE model = $1 AND grant_id = $2', [o.model, o.grantId]);
        }
        return;
      }
    }
  }
}
