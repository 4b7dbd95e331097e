import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/json.js';
import { ConsentContract } from '../src/index.js';
import { ok, TestNetwork } from './harness.js';
import { cast, document, expectFailure, patientRecord, permission, RYU, seeded, T0, type Cast } from './fixtures.js';

let c: Cast;
beforeAll(async () => {
  c = await cast();
});

describe('dispatch', () => {
  it('answers an unknown function with a clear error', async () => {
    const net = new TestNetwork();
    const r = await net.submit(c.p1, 'DropEverything', ['p1']);
    expect(r.status).toBe(500);
    expect(r.message).toBe('Invalid argument: the consentry contract has no function "DropEverything"');
    const prefixed = await net.evaluate(c.p1, 'consentry:GetPatient', ['p1']);
    expectFailure(prefixed, 'Not found', 'patient p1');
    expect((await net.evaluate(c.p1, 'nope:GetPatient', ['p1'])).message).toContain('Contract name is not known');
  });

  it('exposes exactly the transactions of the contract, none of its helpers', async () => {
    // what fabric-shim discovered by introspection (no decorator metadata): name and string parameters
    const transactions = new TestNetwork().transactions();
    const names = transactions.map((t) => t.name).sort();
    expect(transactions.find((t) => t.name === 'CheckAccess')?.parameters).toHaveLength(5);
    expect(names).toEqual(
      [
        'AddDocument', 'AnchorAudit', 'CheckAccess', 'EmergencyAccess', 'ErasePatient', 'GetAuditAnchor', 'GetDocument',
        'GetOrganization', 'GetPatient', 'GetPermissionHistory', 'GetPractitioner', 'GrantPermission', 'ListDocuments', 'ListPermissions',
        'RegisterOrganization', 'RegisterPatient', 'RegisterPractitioner', 'RevokePermission', 'RotateDocumentKey', 'SetDocumentStatus', 'SubmitBatch',
        'SupersedeDocument', 'UpdatePermission',
      ].sort(),
    );
    expect(new ConsentContract().getName()).toBe('consentry');
  });

  it('evaluates write nothing and raise no event', async () => {
    const net = await seeded(c);
    for (const [fn, args] of [['GetPatient', ['p1']], ['ListPermissions', ['p1']], ['ListDocuments', ['p1']]] as const) {
      const r = await net.evaluate(c.p1, fn, [...args]);
      ok(r);
      expect(r.writes).toEqual([]);
      expect(r.event).toBeUndefined();
    }
  });
});

describe('deterministic state', () => {
  it('the same transaction at the same tx time writes identical bytes, whatever the input key order', async () => {
    const runs = [];
    for (const reorder of [false, true]) {
      const net = await seeded(c);
      const grant = JSON.parse(permission({ id: 'ryu', grantee: { kind: 'practitioner', id: RYU }, rights: ['write', 'read'] }));
      const arg = reorder ? JSON.stringify(Object.fromEntries(Object.entries(grant).reverse())) : JSON.stringify(grant);
      const g = await net.submit(c.p1, 'GrantPermission', [arg], { at: T0 + 5000 });
      const d = await net.submit(c.ryu, 'AddDocument', [document({ id: 'same', blob: 'b' })], { at: T0 + 6000 });
      runs.push({ writes: [...g.writes, ...d.writes], events: [g.event, d.event], payloads: [g.payload, d.payload] });
    }
    expect(runs[1]).toEqual(runs[0]);
    const written = runs[0].writes[0].value as string;
    expect(written).toBe(canonicalJson(JSON.parse(written)));
    expect(Object.keys(JSON.parse(written))).toEqual(Object.keys(JSON.parse(written)).sort());
  });

  it('canonical JSON sorts keys at every level, drops undefined and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"z":1}]},"b":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ f: () => 1 })).toThrow();
  });

  it('stores times as UTC instants derived from the tx timestamp, never the local clock', async () => {
    const net = new TestNetwork();
    const at = Date.UTC(2031, 6, 4, 12, 30, 15, 250);
    expect(ok(await net.submit(c.p1, 'RegisterPatient', [patientRecord('p1')], { at })).createdAt).toBe('2031-07-04T12:30:15.250Z');
    const g = ok(await net.submit(c.p1, 'GrantPermission', [permission({ from: '2031-07-04T14:00:00+02:00', to: '2031-08-01' })], { at }));
    expect([g.from, g.to, g.timestamp]).toEqual(['2031-07-04T12:00:00.000Z', '2031-08-01T00:00:00.000Z', '2031-07-04T12:30:15.250Z']);
  });
});

describe('AnchorAudit', () => {
  const anchor = (sequence: number, over: Record<string, unknown> = {}) =>
    JSON.stringify({ sequence, merkleRoot: 'b'.repeat(64), count: 10, fromTime: '2025-01-01T00:00:00Z', toTime: '2025-01-01T01:00:00Z', ...over });

  it('chains sequences per MSP from 1, by admins only', async () => {
    const net = new TestNetwork();
    expectFailure(await net.submit(c.adminA, 'AnchorAudit', [anchor(2)]), 'Invalid argument', 'must follow 1');
    const r = await net.submit(c.adminA, 'AnchorAudit', [anchor(1)]);
    const first = ok(r);
    expect(first).toEqual({ msp: 'HospitalAMSP', sequence: 1, merkleRoot: 'b'.repeat(64), count: 10, fromTime: '2025-01-01T00:00:00.000Z', toTime: '2025-01-01T01:00:00.000Z' });
    expect(r.event).toEqual({ name: 'AuditAnchored', payload: JSON.stringify({ anchor: first }) });
    expectFailure(await net.submit(c.adminA, 'AnchorAudit', [anchor(1)]), 'Invalid argument', 'already exists');
    expectFailure(await net.submit(c.adminA, 'AnchorAudit', [anchor(3)]), 'Invalid argument', 'must follow 2');
    ok(await net.submit(c.adminA, 'AnchorAudit', [anchor(2)]));
    ok(await net.submit(c.adminB, 'AnchorAudit', [anchor(1)]));
    expectFailure(await net.submit(c.ryu, 'AnchorAudit', [anchor(3)]), 'Permission denied');
    expect(ok(await net.evaluate(c.lee, 'GetAuditAnchor', ['HospitalAMSP', '2'])).sequence).toBe(2);
    expectFailure(await net.evaluate(c.lee, 'GetAuditAnchor', ['HospitalAMSP', '3']), 'Not found');
  });

  it('validates the anchor', async () => {
    const net = new TestNetwork();
    for (const [over, fragment] of [
      [{ merkleRoot: 'xyz' }, 'merkleRoot'],
      [{ count: -1 }, 'count'],
      [{ sequence: 0 }, 'sequence'],
      [{ fromTime: '2025-01-02T00:00:00Z' }, 'fromTime must not be after toTime'],
    ] as const) {
      expectFailure(await net.submit(c.adminA, 'AnchorAudit', [anchor(1, over)]), 'Invalid argument', fragment);
    }
  });
});
