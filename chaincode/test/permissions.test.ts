import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok, type TestNetwork } from './harness.js';
import { A, B, cast, DAY, decision, expectFailure, grantee, iso, LEE, permission, RYU, seeded, T0, type Cast } from './fixtures.js';

let c: Cast;
let net: TestNetwork;
beforeAll(async () => {
  c = await cast();
});
beforeEach(async () => {
  net = await seeded(c);
});

const lee = grantee('practitioner', LEE);

describe('GrantPermission', () => {
  it('stores the permission as granted by the patient at tx time and emits PermissionGranted', async () => {
    const at = T0 + DAY;
    const r = await net.submit(c.p1, 'GrantPermission', [permission({ categories: ['radiation-dose', 'lab-results', 'lab-results'] })], { at });
    const granted = ok(r);
    expect(granted).toEqual({
      id: 'perm-lee',
      patient: 'p1',
      grantee: { kind: 'practitioner', id: LEE },
      rights: ['read'],
      categories: ['lab-results', 'radiation-dose'],
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-04-01T00:00:00.000Z',
      purpose: 'TREAT',
      grantedBy: 'p1',
      timestamp: iso(at),
      status: 'active',
      version: 1,
    });
    expect(r.event?.name).toBe('PermissionGranted');
    expect(JSON.parse(r.event!.payload)).toEqual({ permission: granted });
  });

  it('refuses a patient granting on another pseudonym, and anyone but the patient', async () => {
    expectFailure(await net.submit(c.p2, 'GrantPermission', [permission()]), 'Permission denied', 'only patient p1');
    expectFailure(await net.submit(c.p1FromB, 'GrantPermission', [permission()]), 'Permission denied');
    expectFailure(await net.submit(c.adminA, 'GrantPermission', [permission()]), 'Permission denied');
    expectFailure(await net.submit(c.lee, 'GrantPermission', [permission()]), 'Permission denied');
    expect(ok(await net.evaluate(c.p1, 'ListPermissions', ['p1']))).toEqual([]);
  });

  it('validates every term', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ from: '2025-02-30T00:00:00Z' }, 'from'],
      [{ to: 'next week' }, 'to'],
      [{ from: '2025-04-01T00:00:00Z' }, 'from must be before to'],
      [{ categories: ['lab-results', 'genome'] }, 'unknown category "genome"'],
      [{ categories: [] }, 'categories'],
      [{ rights: [] }, 'rights'],
      [{ rights: ['read', 'delete'] }, 'unknown right "delete"'],
      [{ rights: ['share'] }, 'share right requires a studyId'],
      [{ purpose: 'BTG' }, 'BTG'],
      [{ purpose: 'FUN' }, 'purpose'],
      [{ grantee: { kind: 'friend', id: 'x' } }, 'grantee.kind'],
      [{ grantee: { kind: 'practitioner', id: 'lee' } }, 'grantee.id'],
      [{ status: 'revoked' }, 'unknown field "status"'],
      [{ anonymize: 'yes' }, 'anonymize'],
      [{ id: '' }, 'id'],
    ];
    for (const [over, fragment] of cases) {
      expectFailure(await net.submit(c.p1, 'GrantPermission', [permission(over)]), 'Invalid argument', fragment);
    }
  });

  it('accepts share for a study with anonymization, and keeps ids unique', async () => {
    const p = ok(await net.submit(c.p1, 'GrantPermission', [
      permission({ id: 'study', grantee: { kind: 'study', id: 'rt-outcomes' }, rights: ['share', 'read'], studyId: 'rt-outcomes', anonymize: true, purpose: 'HRESCH' }),
    ]));
    expect(p).toMatchObject({ rights: ['read', 'share'], studyId: 'rt-outcomes', anonymize: true });
    expectFailure(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'study' })]), 'Invalid argument', 'already exists');
  });

  it('requires a registered patient', async () => {
    const p3 = c.p1; // p1's certificate cannot act for an unregistered p3 either
    expectFailure(await net.submit(p3, 'GrantPermission', [permission({ patient: 'p3' })]), 'Not found', 'patient p3');
  });
});

describe('CheckAccess', () => {
  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission()]));
  });

  it('allows the grantee on covered categories inside [from, to) and names the deciding permission', async () => {
    const d = await decision(net, c.lee, 'p1', lee, 'read', 'lab-results');
    expect(d.allowed).toBe(true);
    expect(d.permission?.id).toBe('perm-lee');
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'history-physical')).allowed).toBe(false);
    expect((await decision(net, c.lee, 'p1', lee, 'write', 'lab-results')).allowed).toBe(false);
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', '2025-01-01T00:00:00Z')).allowed).toBe(true);
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', '2024-12-31T23:59:59.999Z')).allowed).toBe(false);
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', '2025-03-31T23:59:59.999Z')).allowed).toBe(true);
    const atEnd = await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', '2025-04-01T02:00:00+02:00');
    expect(atEnd).toEqual({ allowed: false, reason: expect.stringContaining('no permission grants read on lab-results') });
  });

  it('uses the tx time when `at` is empty', async () => {
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results')).allowed).toBe(true);
    const late = await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'read', 'lab-results', ''], { at: Date.UTC(2025, 5, 1) });
    expect(ok(late).allowed).toBe(false);
  });

  it('treats "*" as every category but patient-private', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'all', grantee: { kind: 'practitioner', id: RYU }, categories: ['*'] })]));
    const ryu = grantee('practitioner', RYU);
    expect((await decision(net, c.ryu, 'p1', ryu, 'read', 'imaging')).allowed).toBe(true);
    expect((await decision(net, c.ryu, 'p1', ryu, 'read', 'patient-private')).allowed).toBe(false);
  });

  it('lets an organization grant cover that organization’s practitioners only', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'org-a', grantee: { kind: 'organization', id: A }, categories: ['imaging'] })]));
    expect((await decision(net, c.ryu, 'p1', grantee('practitioner', RYU), 'read', 'imaging')).allowed).toBe(true);
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'imaging')).allowed).toBe(false);
    expect((await decision(net, c.adminA, 'p1', grantee('organization', A), 'read', 'imaging')).allowed).toBe(true);
  });

  it('always allows the patient themself', async () => {
    const d = await decision(net, c.p1, 'p1', grantee('patient', 'p1'), 'read', 'patient-private');
    expect(d.allowed).toBe(true);
  });

  it('answers only the patient, admins and the grantee themself', async () => {
    expectFailure(await net.evaluate(c.ryu, 'CheckAccess', ['p1', lee, 'read', 'lab-results', '']), 'Permission denied');
    expectFailure(await net.evaluate(c.p2, 'CheckAccess', ['p1', lee, 'read', 'lab-results', '']), 'Permission denied');
    expect((await decision(net, c.adminB, 'p1', lee, 'read', 'lab-results')).allowed).toBe(true);
    expect((await decision(net, c.p1, 'p1', lee, 'read', 'lab-results')).allowed).toBe(true);
  });

  it('rejects malformed questions', async () => {
    expectFailure(await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'peek', 'lab-results', '']), 'Invalid argument', 'right');
    expectFailure(await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'read', '*', '']), 'Invalid argument', 'category');
    expectFailure(await net.evaluate(c.lee, 'CheckAccess', ['p1', '{"kind":"practitioner"}', 'read', 'imaging', '']), 'Invalid argument');
    expectFailure(await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'read', 'imaging', 'yesterday']), 'Invalid argument', 'at');
    const r = await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'read', 'imaging']);
    expect(r.status).toBe(500);
    expect(r.message).toContain('Expected 5 parameters');
  });

  it('answers "not registered" for an unknown patient', async () => {
    expect(await decision(net, c.adminA, 'nobody', lee, 'read', 'imaging')).toEqual({ allowed: false, reason: 'patient is not registered' });
  });
});

describe('RevokePermission, UpdatePermission and history', () => {
  const grantAt = T0 + DAY;
  const updateAt = T0 + 2 * DAY;
  const revokeAt = T0 + 3 * DAY;

  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission()], { at: grantAt }));
  });

  it('revoking ends access from the revoking tx time on, without deleting the permission', async () => {
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', iso(revokeAt))).allowed).toBe(true);
    const r = await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee'], { at: revokeAt });
    const revoked = ok(r);
    expect(revoked).toMatchObject({ status: 'revoked', to: iso(revokeAt), timestamp: iso(revokeAt), version: 2, grantedBy: 'p1' });
    expect(r.event?.name).toBe('PermissionRevoked');
    expect(JSON.parse(r.event!.payload)).toEqual({ permission: revoked });
    expect(r.writes.every((w) => w.value !== undefined)).toBe(true);

    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', iso(revokeAt))).allowed).toBe(false);
    const later = await net.evaluate(c.lee, 'CheckAccess', ['p1', lee, 'read', 'lab-results', ''], { at: revokeAt + 60_000 });
    expect(ok(later).allowed).toBe(false);
    // before the revocation the consent was in force, and CheckAccess still says so
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results', iso(revokeAt - 1))).allowed).toBe(true);
    expect(ok(await net.evaluate(c.p1, 'ListPermissions', ['p1']))).toEqual([revoked]);
  });

  it('only the patient revokes, once, and an expired permission keeps its end', async () => {
    expectFailure(await net.submit(c.lee, 'RevokePermission', ['p1', 'perm-lee']), 'Permission denied');
    expectFailure(await net.submit(c.adminA, 'RevokePermission', ['p1', 'perm-lee']), 'Permission denied');
    expectFailure(await net.submit(c.p1, 'RevokePermission', ['p1', 'nope']), 'Not found');
    const late = ok(await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee'], { at: Date.UTC(2025, 6, 1) }));
    expect(late.to).toBe('2025-04-01T00:00:00.000Z');
    expectFailure(await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee']), 'Invalid argument', 'already revoked');
  });

  it('updating writes a new version; history lists every version newest first', async () => {
    const u = await net.submit(c.p1, 'UpdatePermission', [permission({ categories: ['imaging'] })], { at: updateAt });
    const updated = ok(u);
    expect(updated).toMatchObject({ categories: ['imaging'], version: 2, timestamp: iso(updateAt), status: 'active' });
    expect(u.event?.name).toBe('PermissionUpdated');
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'imaging')).allowed).toBe(true);
    expect((await decision(net, c.lee, 'p1', lee, 'read', 'lab-results')).allowed).toBe(false);
    const r = await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee'], { at: revokeAt });
    ok(r);

    const history = ok(await net.evaluate(c.p1, 'GetPermissionHistory', ['p1', 'perm-lee']));
    expect(history.map((h: { value: { version: number } }) => h.value.version)).toEqual([3, 2, 1]);
    expect(history.map((h: { timestamp: string }) => h.timestamp)).toEqual([iso(revokeAt), iso(updateAt), iso(grantAt)]);
    expect(history[0]).toMatchObject({ txId: r.txId, isDelete: false, value: { status: 'revoked' } });
    expect(ok(await net.evaluate(c.lee, 'GetPermissionHistory', ['p1', 'perm-lee']))).toHaveLength(3);
  });

  it('refuses updates of unknown or revoked permissions and by anyone but the patient', async () => {
    expectFailure(await net.submit(c.p1, 'UpdatePermission', [permission({ id: 'other' })]), 'Not found');
    expectFailure(await net.submit(c.p2, 'UpdatePermission', [permission()]), 'Permission denied');
    ok(await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee']));
    expectFailure(await net.submit(c.p1, 'UpdatePermission', [permission()]), 'Invalid argument', 'revoked');
  });
});

describe('who sees permissions', () => {
  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission()]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'perm-ryu', grantee: { kind: 'practitioner', id: RYU } })]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'perm-b', grantee: { kind: 'organization', id: B } })]));
  });

  const ids = (list: { id: string }[]) => list.map((p) => p.id);

  it('the patient and home admins see all, in key order', async () => {
    expect(ids(ok(await net.evaluate(c.p1, 'ListPermissions', ['p1'])))).toEqual(['perm-b', 'perm-lee', 'perm-ryu']);
    expect(ids(ok(await net.evaluate(c.adminA, 'ListPermissions', ['p1'])))).toEqual(['perm-b', 'perm-lee', 'perm-ryu']);
  });

  it('grantees see only their own (practitioners including their organization’s)', async () => {
    expect(ids(ok(await net.evaluate(c.lee, 'ListPermissions', ['p1'])))).toEqual(['perm-b', 'perm-lee']);
    expect(ids(ok(await net.evaluate(c.ryu, 'ListPermissions', ['p1'])))).toEqual(['perm-ryu']);
    expect(ids(ok(await net.evaluate(c.adminB, 'ListPermissions', ['p1'])))).toEqual(['perm-b', 'perm-lee']);
    expect(ok(await net.evaluate(c.p2, 'ListPermissions', ['p1']))).toEqual([]);
    expect(ok(await net.evaluate(c.p1FromB, 'ListPermissions', ['p1']))).toEqual([]);
  });

  it('a hidden permission’s history answers like a missing one', async () => {
    const hidden = await net.evaluate(c.ryu, 'GetPermissionHistory', ['p1', 'perm-lee']);
    const missing = await net.evaluate(c.ryu, 'GetPermissionHistory', ['p1', 'perm-none']);
    expectFailure(hidden, 'Not found');
    expect(hidden.message).toBe(missing.message.replace('perm-none', 'perm-lee'));
    expectFailure(await net.evaluate(c.p1, 'ListPermissions', ['p9']), 'Not found', 'patient p9');
  });
});
