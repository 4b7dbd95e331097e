import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok, type TestNetwork } from './harness.js';
import { cast, document, expectFailure, permission, RYU, seeded, type Cast } from './fixtures.js';

let c: Cast;
let net: TestNetwork;
beforeAll(async () => {
  c = await cast();
});
beforeEach(async () => {
  net = await seeded(c);
});

const rotation = (over: Record<string, unknown> = {}) => JSON.stringify({ blob: 'blobs/p1/doc-rotated', ciphertextSha256: 'b'.repeat(64), size: 2048, ...over });

describe('RotateDocumentKey', () => {
  it('lets the patient and a home admin move a document to a new blob and hash, keeping everything else', async () => {
    const added = ok(await net.submit(c.p1, 'AddDocument', [document({ id: 'lab1' })]));
    const r = await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation()]);
    const { document: rotated, previousCiphertextSha256 } = ok(r);
    expect(rotated).toEqual({ ...added, blob: 'blobs/p1/doc-rotated', ciphertextSha256: 'b'.repeat(64) });
    expect(previousCiphertextSha256).toBe('a'.repeat(64));
    expect(r.event?.name).toBe('DocumentKeyRotated');
    expect(JSON.parse(r.event!.payload)).toEqual({ document: rotated, previousCiphertextSha256: 'a'.repeat(64) });
    expect(ok(await net.evaluate(c.p1, 'GetDocument', ['p1', 'lab1']))).toEqual(rotated);

    const again = ok(await net.submit(c.adminA, 'RotateDocumentKey', ['p1', 'lab1', rotation({ blob: 'blobs/p1/doc-3', ciphertextSha256: 'c'.repeat(64) })]));
    expect(again.document).toMatchObject({ id: 'lab1', blob: 'blobs/p1/doc-3', ciphertextSha256: 'c'.repeat(64), status: 'current' });
  });

  it('refuses anyone else, another size, the same hash or blob, and erased documents', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'ryu-write', grantee: { kind: 'practitioner', id: RYU }, rights: ['read', 'write'], to: '2030-01-01T00:00:00Z' })]));
    ok(await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab1', blob: 'blobs/p1/lab1' })]));
    // not even the author, nor the other hospital's admin
    for (const who of [c.ryu, c.adminB, c.p2, c.p1FromB]) {
      const r = await net.submit(who, 'RotateDocumentKey', ['p1', 'lab1', rotation()]);
      expectFailure(r, 'Permission denied');
      expect(r.writes).toEqual([]);
    }
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation({ size: 2049 })]), 'Invalid argument', 'size');
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation({ ciphertextSha256: 'a'.repeat(64) })]), 'Invalid argument', 'unchanged');
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation({ blob: 'blobs/p1/lab1' })]), 'Invalid argument', 'new blob');
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation({ id: 'other' })]), 'Invalid argument');
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'nope', rotation()]), 'Not found');
    ok(await net.submit(c.p1, 'ErasePatient', ['p1']));
    expectFailure(await net.submit(c.p1, 'RotateDocumentKey', ['p1', 'lab1', rotation()]), 'Invalid argument', 'erased');
  });

  it('runs inside a batch', async () => {
    ok(await net.submit(c.p1, 'AddDocument', [document({ id: 'lab1' })]));
    const results = ok(await net.submit(c.p1, 'SubmitBatch', [JSON.stringify([{ fn: 'RotateDocumentKey', args: ['p1', 'lab1', rotation()] }])]));
    expect(results[0].document.ciphertextSha256).toBe('b'.repeat(64));
  });
});
