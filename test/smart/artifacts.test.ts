import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/open.js';
import { OwnedArtifactStore } from '../../server/smart/artifacts/owned.js';

// The PGlite store decides one-time uses in memory and writes through: what it decided must be in the
// database when the caller resumes, and survive a restart.
describe('artifact store of a database this process owns (PGlite)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: null });
  });
  afterAll(async () => {
    await db.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const rows = async (model: string, id: string) => (await db.query<{ consumed_at: Date | null; payload: Record<string, unknown> }>('SELECT consumed_at, payload FROM oauth_artifacts WHERE model = $1 AND id = $2', [model, id])).rows;

  it('an assertion jti is reserved by the first lookup, written through, and still known after a restart', async () => {
    const store = await OwnedArtifactStore.open(db, async () => true);
    const replay = store.adapter('ReplayDetection');
    expect(await replay.find('jti-1')).toBeUndefined();
    expect(await replay.find('jti-1')).toBeDefined(); // a concurrent second use sees the reservation
    await replay.upsert('jti-1', { iat: now(), exp: now() + 300, jti: 'jti-1', kind: 'ReplayDetection' }, 300);
    expect(await rows('ReplayDetection', 'jti-1')).toHaveLength(1);
    const restarted = await OwnedArtifactStore.open(db, async () => true);
    expect(await restarted.adapter('ReplayDetection').find('jti-1')).toBeDefined();
    expect(await restarted.adapter('ReplayDetection').find('jti-2')).toBeUndefined();
  });

  it('a refresh token is consumed once; the second use revokes everything of its grant, in memory and on disk', async () => {
    const store = await OwnedArtifactStore.open(db, async () => true);
    const tokens = store.adapter('RefreshToken');
    const grants = store.adapter('Grant');
    await grants.upsert('g1', { iat: now(), exp: now() + 3600, jti: 'g1', kind: 'Grant', accountId: 'u', clientId: 'c' }, 3600);
    await Promise.all([
      tokens.upsert('rt1', { iat: now(), exp: now() + 3600, jti: 'rt1', kind: 'RefreshToken', grantId: 'g1' }, 3600),
      tokens.upsert('rt2', { iat: now(), exp: now() + 3600, jti: 'rt2', kind: 'RefreshToken', grantId: 'g1' }, 3600),
    ]);
    await tokens.consume('rt1');
    expect((await tokens.find('rt1'))?.consumed).toEqual(expect.any(Number));
    expect((await rows('RefreshToken', 'rt1'))[0].consumed_at).not.toBeNull();
    await expect(tokens.consume('rt1')).rejects.toMatchObject({ error: 'invalid_grant', error_detail: expect.stringMatching(/already used/) });
    expect(await grants.find('g1')).toBeUndefined();
    expect(await tokens.find('rt2')).toBeUndefined();
    expect(await rows('Grant', 'g1')).toEqual([]);
    expect(await rows('RefreshToken', 'rt2')).toEqual([]);
  });

  it('a grant whose ledger permission no longer stands is not found', async () => {
    let standing = true;
    const store = await OwnedArtifactStore.open(db, async () => standing);
    const grants = store.adapter('Grant');
    await grants.upsert('g2', { iat: now(), exp: now() + 3600, jti: 'g2', kind: 'Grant', accountId: 'u', clientId: 'c' }, 3600);
    expect(await grants.find('g2')).toBeDefined();
    standing = false;
    expect(await grants.find('g2')).toBeUndefined();
  });

  it('a new process reads what an earlier one wrote, and sessions are found by uid', async () => {
    const first = await OwnedArtifactStore.open(db, async () => true);
    await first.adapter('Session').upsert('s1', { iat: now(), exp: now() + 60, jti: 's1', kind: 'Session', uid: 'uid-1' }, 60);
    const second = await OwnedArtifactStore.open(db, async () => true);
    expect((await second.adapter('Session').findByUid('uid-1'))?.jti).toBe('s1');
    await second.adapter('Session').destroy('s1');
    expect(await rows('Session', 's1')).toEqual([]);
  });
});
