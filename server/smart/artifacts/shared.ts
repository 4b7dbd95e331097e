import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Queryable } from '../../db/database.js';
import type { ArtifactStore } from './index.js';

interface Row {
  payload: AdapterPayload;
  consumed: number | null;
}

export const FIND = `SELECT payload, extract(epoch FROM consumed_at)::int AS consumed FROM oauth_artifacts WHERE model = $1 AND id = $2`;

// A grant that rests on a ledger permission exists only while the permission is active and current:
// revoking the app's Consent on the ledger ends its grant, so its refresh tokens, codes and JWTs die with it.
const FIND_GRANT = `SELECT a.payload, NULL::int AS consumed
  FROM oauth_artifacts a LEFT JOIN smart_grants sg ON sg.grant_id = a.id
  WHERE a.model = 'Grant' AND a.id = $1
    AND (sg.permission_id IS NULL OR EXISTS (
      SELECT 1 FROM ledger_permissions lp
      WHERE lp.patient = sg.permission_patient AND lp.id = sg.permission_id
        AND lp.status = 'active' AND lp.valid_from <= now() AND now() < lp.valid_to))`;

// ReplayDetection.unique() is find-then-save; reserving the id in the find makes it atomic, so two
// requests carrying the same client assertion jti cannot both pass, whichever process they reach.
const RESERVE_REPLAY = `INSERT INTO oauth_artifacts (model, id, payload, expires_at)
  VALUES ('ReplayDetection', $1, $2, to_timestamp($3))
  ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at, consumed_at = NULL
    WHERE oauth_artifacts.expires_at <= now()
  RETURNING id`;

export const REPLAY_WINDOW_S = 600;
const CLIENT_CACHE_MAX = 1000;

/**
 * Artifacts in a database several server processes share (PostgreSQL): every lookup and every write goes
 * to the database, and the one-time uses (codes, refresh tokens, assertion jtis) are decided there.
 * Only clients are cached: registrations are never changed afterwards.
 */
export class SharedArtifactStore implements ArtifactStore {
  private readonly clients = new Map<string, AdapterPayload>();

  constructor(private readonly db: Queryable) {}

  adapter(model: string): Adapter {
    return new SharedAdapter(this.db, model, model === 'Client' ? this.clients : undefined);
  }
}

class SharedAdapter implements Adapter {
  constructor(
    private readonly db: Queryable,
    private readonly model: string,
    private readonly cache?: Map<string, AdapterPayload>,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.db.query(
      `INSERT INTO oauth_artifacts (model, id, payload, grant_id, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(secs => $6::int) END)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
      [this.model, id, JSON.stringify(payload), payload.grantId ?? null, payload.uid ?? null, expiresIn ? Math.ceil(expiresIn) : null],
    );
    this.cache?.delete(id);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'ReplayDetection') return this.findOrReserveReplay(id);
    const cached = this.cache?.get(id);
    if (cached) return cached;
    const { rows } = this.model === 'Grant' ? await this.db.query<Row>(FIND_GRANT, [id]) : await this.db.query<Row>(FIND, [this.model, id]);
    const found = withConsumed(rows[0]);
    if (found && this.cache) {
      if (this.cache.size >= CLIENT_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(id, found);
    }
    return found;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT payload, extract(epoch FROM consumed_at)::int AS consumed FROM oauth_artifacts WHERE model = $1 AND uid = $2`, [this.model, uid]);
    return withConsumed(rows[0]);
  }

  async findByUserCode(): Promise<undefined> {
    return undefined; // the device flow is not enabled
  }

  /** Marks a code or refresh token used, exactly once: a second use (even a concurrent one) is a replay. */
  async consume(id: string): Promise<void> {
    const { rows } = await this.db.query<{ grant_id: string | null }>(
      `UPDATE oauth_artifacts SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL RETURNING grant_id`,
      [this.model, id],
    );
    if (rows.length) return;
    const { rows: held } = await this.db.query<{ grant_id: string | null }>('SELECT grant_id FROM oauth_artifacts WHERE model = $1 AND id = $2', [this.model, id]);
    if (held[0]?.grant_id) await this.db.query(`DELETE FROM oauth_artifacts WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`, [held[0].grant_id]);
    throw alreadyUsed(this.model);
  }

  async destroy(id: string): Promise<void> {
    await this.db.query('DELETE FROM oauth_artifacts WHERE model = $1 AND id = $2', [this.model, id]);
    this.cache?.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.query('DELETE FROM oauth_artifacts WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
  }

  private async findOrReserveReplay(id: string): Promise<AdapterPayload | undefined> {
    const reservation = replayReservation(id);
    const { rows } = await this.db.query(RESERVE_REPLAY, [id, JSON.stringify(reservation), reservation.exp]);
    if (rows.length) return undefined;
    const held = await this.db.query<Row>(FIND, [this.model, id]);
    return held.rows[0]?.payload ?? reservation;
  }
}

export function replayReservation(id: string): AdapterPayload & { exp: number } {
  const now = Math.floor(Date.now() / 1000);
  return { iat: now, exp: now + REPLAY_WINDOW_S, jti: id, kind: 'ReplayDetection' };
}

export function alreadyUsed(model: string): Error {
  return new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
}

function withConsumed(row: Row | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  return row.consumed ? { ...row.payload, consumed: row.consumed } : row.payload;
}
