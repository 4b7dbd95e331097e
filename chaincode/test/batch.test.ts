import { beforeAll, describe, expect, it } from 'vitest';
import { ok, TestNetwork } from './harness.js';
import { A, cast, decision, document, expectFailure, grantee, KEY, LEE, patientRecord, permission, RYU, seeded, type Cast } from './fixtures.js';

let c: Cast;
beforeAll(async () => {
  c = await cast();
});

const op = (fn: string, ...args: string[]) => ({ fn, args });

describe('SubmitBatch', () => {
  it('runs operations in order, each seeing the earlier ones’ writes, with one BatchSubmitted event', async () => {
    const net = new TestNetwork();
    const ops = [
      op('RegisterPatient', patientRecord('p1')),
      op('GrantPermission', permission()),
      op('AddDocument', document({ id: 'own' })),
      op('UpdatePermission', permission({ categories: ['imaging'] })),
      op('RevokePermission', 'p1', 'perm-lee'),
    ];
    const r = await net.submit(c.p1, 'SubmitBatch', [JSON.stringify(ops)]);
    const results = ok(r);
    expect(results).toHaveLength(5);
    expect(results[4]).toMatchObject({ id: 'perm-lee', status: 'revoked', version: 3 });

    expect(r.event?.name).toBe('BatchSubmitted');
    const { events } = JSON.parse(r.event!.payload);
    expect(events.map((e: { name: string }) => e.name)).toEqual([
      'PatientRegistered',
      'PermissionGranted',
      'DocumentAdded',
      'PermissionUpdated',
      'PermissionRevoked',
    ]);
    expect(events[1].payload.permission.version).toBe(1);
    expect(events[4].payload.permission).toEqual(results[4]);

    // the peer saw one write per key-version, and the committed state is the last one
    const permission3 = ok(await net.evaluate(c.p1, 'ListPermissions', ['p1']));
    expect(permission3).toEqual([results[4]]);
    expect(ok(await net.evaluate(c.p1, 'ListDocuments', ['p1']))).toHaveLength(1);
  });

  it('is all-or-nothing: one failing operation fails the transaction and writes nothing', async () => {
    const net = await seeded(c);
    const before = new Map(net.ledger.state);
    const ops = [
      op('GrantPermission', permission()),
      op('GrantPermission', permission({ id: 'ryu-w', grantee: { kind: 'practitioner', id: RYU }, rights: ['write'] })),
      op('GrantPermission', permission({ id: 'bad', patient: 'p2' })),
    ];
    const r = await net.submit(c.p1, 'SubmitBatch', [JSON.stringify(ops)]);
    expectFailure(r, 'Permission denied', '(batch operation 2: GrantPermission)');
    expect(net.ledger.state).toEqual(before);
    expect((await decision(net, c.lee, 'p1', grantee('practitioner', LEE), 'read', 'lab-results')).allowed).toBe(false);
  });

  it('lets a practitioner use a write permission granted earlier in the same batch only if it is theirs', async () => {
    const net = await seeded(c);
    const ops = [op('GrantPermission', permission({ id: 'ryu-w', grantee: { kind: 'practitioner', id: RYU }, rights: ['write'] })), op('AddDocument', document())];
    // the patient's batch: the document is the patient's own
    expect(ok(await net.submit(c.p1, 'SubmitBatch', [JSON.stringify(ops)]))[1].author).toBe('p1');
    // a practitioner's batch cannot grant
    expectFailure(await net.submit(c.ryu, 'SubmitBatch', [JSON.stringify(ops)]), 'Permission denied', 'batch operation 0');
  });

  it('validates the operation list', async () => {
    const net = await seeded(c);
    const cases: [unknown, string][] = [
      [[], '1 to 100'],
      [Array.from({ length: 101 }, () => op('RevokePermission', 'p1', 'x')), '1 to 100'],
      [[op('SubmitBatch', '[]')], 'fn must be one of'],
      [[op('GetPatient', 'p1')], 'fn must be one of'],
      [[op('toString')], 'fn must be one of'],
      [[op('RevokePermission', 'p1')], 'takes 2 arguments'],
      [[{ fn: 'RevokePermission', args: ['p1', 7] }], 'list of strings'],
      [[{ fn: 'RevokePermission', args: ['p1', 'x'], as: 'p2' }], 'unknown field "as"'],
      [{ fn: 'RegisterPatient' }, '1 to 100'],
    ];
    for (const [ops, fragment] of cases) {
      expectFailure(await net.submit(c.p1, 'SubmitBatch', [JSON.stringify(ops)]), 'Invalid argument', fragment);
    }
  });

  it('reads its own writes only through the overlay: the peer is never asked for uncommitted state twice', async () => {
    const net = new TestNetwork();
    const ops = [op('RegisterPatient', patientRecord('p1')), op('RegisterPatient', patientRecord('p1', { ...KEY, x: 'second' }))];
    const r = await net.submit(c.p1, 'SubmitBatch', [JSON.stringify(ops)]);
    ok(r);
    // the first op registered (createdAt set), the second saw that record and updated only the key
    const [first, second] = ok<{ createdAt: string; encryptionKey: { x: string }; homeMsp: string }[]>(r);
    expect(second.createdAt).toBe(first.createdAt);
    expect(second.encryptionKey.x).toBe('second');
    expect(second.homeMsp).toBe(A);
    expect(net.ledger.calls.filter((call) => call.startsWith('GetState')).length).toBe(1);
  });
});
