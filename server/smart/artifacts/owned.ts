import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Queryable } from '../../db/database.js';
import { GroupCommit } from './group-commit.js';
import type { ArtifactStore } from './index.js';
import { alreadyUsed, FIND, replayReservation } from './shared.js';

interface Entry {
  payload: AdapterPayload;
  /** epoch seconds */
  consumed?: number;
}

const MAX_ENTRIES = 20_000;

/**
 * Artifacts in a database this process alone owns (PGlite): the process is the only writer, so its memory
 * is an exact write-through copy of what it has touched — lookups are answered from memory, writes are
 * group-committed to the database before the caller resumes, and one-time uses (codes, refresh tokens,
 * assertion jtis) are decided in memory, atomically. A restart reloads the live assertion jtis.
 */
export class OwnedArtifactStore implements ArtifactStore {
  private readonly entries = new Map<string, Entry>();
  /** ReplayDetection ids → expiry (ms); complete, so a miss needs no database lookup */
  private readonly replays = new Map<string, number>();
  /** `${model}\0${uid}` → id, for Session lookups by uid */
  private readonly uids = new Map<string, string>();
  private readonly writer: GroupCommit;

  private constructor(
    private readonly db: Queryable,
    /** whether a grant still stands beyond its own record (its ledger permission) */
    private readonly standing: (grantId: string) => Promise<boolean>,
  ) {
    this.writer = new GroupCommit(db);
  }

  static async open(db: Queryable, standing: (grantId: string) => Promise<boolean>): Promise<OwnedArtifactStore> {
    const store = new OwnedArtifactStore(db, standing);
    const { rows } = await db.query<{ id: string; exp: number }>(`SELECT id, extract(epoch FROM expires_at)::float8 AS exp FROM oauth_artifacts WHERE model = 'ReplayDetection' AND expires_at > now()`);
    for (const r of rows) store.replays.set(r.id, r.exp * 1000);
    return store;
  }

  adapter(model: string): Adapter {
    return model === 'ReplayDetection' ? this.replayAdapter() : this.modelAdapter(model);
  }

  /** Drops what has expired from memory (the database is swept separately). */
  prune(): void {
    const now = Date.now();
    for (const [id, exp] of this.replays) if (exp <= now) this.replays.delete(id);
    const nowS = now / 1000;
    for (const [key, e] of this.entries) if (typeof e.payload.exp === 'number' && e.payload.exp + 60 < nowS) this.entries.delete(key);
    for (const [uidKey, id] of this.uids) if (!this.entries.has(`${uidKey.split('\0')[0]}\0${id}`)) this.uids.delete(uidKey);
  }

  /** Resolves once every write so far is in the database. */
  idle(): Promise<void> {
    return this.writer.idle();
  }

  private remember(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  private async load(model: string, id: string): Promise<Entry | undefined> {
    const key = `${model}\0${id}`;
    const cached = this.entries.get(key);
    if (cached) return cached;
    const { rows } = await this.db.query<{ payload: AdapterPayload; consumed: number | null }>(FIND, [model, id]);
    if (!rows[0]) return undefined;
    const entry: Entry = { payload: rows[0].payload, ...(rows[0].consumed ? { consumed: rows[0].consumed } : {}) };
    // a write made while the row was being read wins
    if (!this.entries.has(key)) this.remember(key, entry);
    return this.entries.get(key);
  }

  private forgetGrant(model: string | null, grantId: string): void {
    for (const [key, e] of this.entries) {
      const [m, id] = key.split('\0');
      if ((model === null || m === model) && e.payload.grantId === grantId) this.entries.delete(key);
      else if (model === null && m === 'Grant' && id === grantId) this.entries.delete(key);
    }
  }

  private modelAdapter(model: string): Adapter {
    const key = (id: string) => `${model}\0${id}`;
    const view = (e: Entry | undefined) => (e ? (e.consumed ? { ...e.payload, consumed: e.consumed } : e.payload) : undefined);
    return {
      upsert: async (id, payload, expiresIn) => {
        const previous = this.entries.get(key(id));
        this.remember(key(id), { payload, ...(previous?.consumed ? { consumed: previous.consumed } : {}) });
        if (typeof payload.uid === 'string') this.uids.set(`${model}\0${payload.uid}`, id);
        await this.writer.write({ kind: 'upsert', model, id, payload, grantId: payload.grantId ?? null, uid: payload.uid ?? null, expiresAt: expiresIn ? Date.now() + Math.ceil(expiresIn) * 1000 : null });
      },
      find: async (id) => {
        const entry = await this.load(model, id);
        if (entry && model === 'Grant' && !(await this.standing(id))) return undefined;
        return view(entry);
      },
      findByUid: async (uid) => {
        const known = this.uids.get(`${model}\0${uid}`);
        const cached = known === undefined ? undefined : this.entries.get(key(known));
        if (cached?.payload.uid === uid) return view(cached);
        const { rows } = await this.db.query<{ id: string }>('SELECT id FROM oauth_artifacts WHERE model = $1 AND uid = $2', [model, uid]);
        return rows[0] ? view(await this.load(model, rows[0].id)) : undefined;
      },
      findByUserCode: async () => {
        return undefined; // the device flow is not enabled
      },
      consume: async (id) => {
        const entry = await this.load(model, id);
        if (!entry) return;
        if (entry.consumed) {
          // a second use is a replay: what the grant issued is revoked
          const grantId = entry.payload.grantId;
          if (grantId) {
            this.forgetGrant(null, grantId);
            await this.writer.write({ kind: 'deleteGrant', model: null, grantId });
          }
          throw alreadyUsed(model);
        }
        entry.consumed = Math.floor(Date.now() / 1000);
        await this.writer.write({ kind: 'consume', model, id });
      },
      destroy: async (id) => {
        const uid = this.entries.get(key(id))?.payload.uid;
        if (typeof uid === 'string') this.uids.delete(`${model}\0${uid}`);
        this.entries.delete(key(id));
        await this.writer.write({ kind: 'delete', model, id });
      },
      revokeByGrantId: async (grantId) => {
        this.forgetGrant(model, grantId);
        await this.writer.write({ kind: 'deleteGrant', model, grantId });
      },
    };
  }

  private replayAdapter(): Adapter {
    return {
      upsert: async (id, payload, expiresIn) => {
        const expiresAt = Date.now() + Math.ceil(expiresIn ?? 0) * 1000;
        this.replays.set(id, expiresAt);
        await this.writer.write({ kind: 'upsert', model: 'ReplayDetection', id, payload, grantId: null, uid: null, expiresAt });
      },
      // find-then-save made atomic: the first find reserves the id
      find: async (id) => {
        const exp = this.replays.get(id);
        const reservation = replayReservation(id);
        if (exp !== undefined && exp > Date.now()) return reservation;
        this.replays.set(id, reservation.exp * 1000);
        return undefined;
      },
      findByUid: async () => {
        return undefined;
      },
      findByUserCode: async () => {
        return undefined;
      },
      consume: async () => {},
      destroy: async (id) => {
        this.replays.delete(id);
        await this.writer.write({ kind: 'delete', model: 'ReplayDetection', id });
      },
      revokeByGrantId: async () => {},
    };
  }
}
