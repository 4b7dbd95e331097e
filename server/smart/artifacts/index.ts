import type { Adapter } from 'oidc-provider';
import type { Database, Queryable } from '../../db/database.js';
import type { GrantContexts } from '../grants.js';
import { OwnedArtifactStore } from './owned.js';
import { SharedArtifactStore } from './shared.js';

/** Where oidc-provider keeps its artifacts (table oauth_artifacts): one adapter per model name. */
export interface ArtifactStore {
  adapter(model: string): Adapter;
  /** drop expired entries kept in memory, if any */
  prune?(): void;
  /** resolves once every write made so far is in the database */
  idle?(): Promise<void>;
}

/**
 * PostgreSQL may be shared by many server processes: every decision is taken in the database. PGlite is
 * owned by this process alone: decisions are taken in memory and written through (see OwnedArtifactStore).
 */
export async function openArtifactStore(db: Database, deps: { grants: GrantContexts; ledgerHeight: () => number }): Promise<ArtifactStore> {
  if (db.kind !== 'pglite') return new SharedArtifactStore(db);
  const permissions = new PermissionStanding(db, deps.ledgerHeight);
  return OwnedArtifactStore.open(db, async (grantId) => {
    const context = await deps.grants.find(grantId);
    return !context?.permission || permissions.active(context.permission.patient, context.permission.id);
  });
}

interface Standing {
  status: string;
  from: number;
  to: number;
  /** the replica height this was read at */
  height: number;
}

/**
 * Whether a ledger permission is active now, read from the replica once per replica height: the
 * permission can only change in a new block, and the replica height moves only after that block's rows
 * are committed (one process owns the database, so its height is the database's).
 */
class PermissionStanding {
  private readonly known = new Map<string, Standing>();

  constructor(
    private readonly db: Queryable,
    private readonly height: () => number,
  ) {}

  async active(patient: string, id: string): Promise<boolean> {
    const key = `${patient}\0${id}`;
    const height = this.height();
    let s = this.known.get(key);
    if (!s || s.height !== height) {
      const { rows } = await this.db.query<{ status: string; from_ms: number; to_ms: number }>(
        `SELECT status, extract(epoch FROM valid_from) * 1000 AS from_ms, extract(epoch FROM valid_to) * 1000 AS to_ms FROM ledger_permissions WHERE patient = $1 AND id = $2`,
        [patient, id],
      );
      s = rows[0] ? { status: rows[0].status, from: Number(rows[0].from_ms), to: Number(rows[0].to_ms), height } : { status: 'missing', from: 0, to: 0, height };
      if (this.known.size > 10_000) this.known.clear();
      this.known.set(key, s);
    }
    const now = Date.now();
    return s.status === 'active' && s.from <= now && now < s.to;
  }
}

/** Deletes what has expired (run now and then; lookups never depend on it). */
export async function sweepExpiredArtifacts(db: Queryable): Promise<void> {
  await db.query('DELETE FROM oauth_artifacts WHERE expires_at < now()');
  await db.query('DELETE FROM smart_revoked_tokens WHERE expires_at < now()');
  await db.query(`DELETE FROM smart_launches WHERE expires_at < now() - interval '1 day'`);
  await db.query(`DELETE FROM smart_grants sg WHERE NOT EXISTS (SELECT 1 FROM oauth_artifacts a WHERE a.model = 'Grant' AND a.id = sg.grant_id)`);
}
