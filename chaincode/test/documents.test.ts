import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ok, type TestNetwork } from './harness.js';
import { A, B, cast, DAY, document, expectFailure, iso, LEE, permission, RYU, seeded, T0, type Cast } from './fixtures.js';

let c: Cast;
let net: TestNetwork;
beforeAll(async () => {
  c = await cast();
});
beforeEach(async () => {
  net = await seeded(c);
});

const ryuWrite = (over: Record<string, unknown> = {}) =>
  permission({ id: 'ryu-write', grantee: { kind: 'practitioner', id: RYU }, rights: ['read', 'write'], ...over });

describe('AddDocument', () => {
  it('refuses a practitioner without a write permission', async () => {
    const r = await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab1' })]);
    expectFailure(r, 'Permission denied', `${RYU} holds no write permission on lab-results`);
    expect(r.writes).toEqual([]);
    // read alone is not enough either
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite({ rights: ['read'] })]));
    expectFailure(await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab1' })]), 'Permission denied');
    expectFailure(await net.evaluate(c.p1, 'GetDocument', ['p1', 'lab1']), 'Not found');
  });

  it('lets a practitioner with write on the category add, as author, at tx time', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite()]));
    const at = T0 + DAY;
    const input = document({ id: 'lab1' });
    const r = await net.submit(c.ryu, 'AddDocument', [input], { at });
    const doc = ok(r);
    expect(doc).toEqual({ ...JSON.parse(input), author: RYU, authorMsp: A, createdAt: iso(at), status: 'current' });
    expect(r.event).toEqual({ name: 'DocumentAdded', payload: JSON.stringify({ document: doc }) });
    expectFailure(await net.submit(c.ryu, 'AddDocument', [document({ id: 'img1', category: 'imaging' })]), 'Permission denied', 'imaging');
    expectFailure(await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab1' })]), 'Invalid argument', 'already exists');
  });

  it('checks the write window at tx time', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite()]));
    expectFailure(await net.submit(c.ryu, 'AddDocument', [document()], { at: Date.UTC(2025, 3, 1) }), 'Permission denied');
    ok(await net.submit(c.ryu, 'AddDocument', [document()], { at: Date.UTC(2025, 3, 1) - 1 }));
  });

  it('"*" lets a practitioner write every category but patient-private; the patient writes anything', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite({ categories: ['*'] })]));
    ok(await net.submit(c.ryu, 'AddDocument', [document({ category: 'imaging' })]));
    expectFailure(await net.submit(c.ryu, 'AddDocument', [document({ category: 'patient-private' })]), 'Permission denied');
    const own = ok(await net.submit(c.p1, 'AddDocument', [document({ id: 'note', category: 'patient-private' })]));
    expect(own).toMatchObject({ author: 'p1', authorMsp: A });
  });

  it('refuses other patients, other hospitals’ copies of the patient, admins, and unknown patients', async () => {
    expectFailure(await net.submit(c.p2, 'AddDocument', [document()]), 'Permission denied');
    expectFailure(await net.submit(c.p1FromB, 'AddDocument', [document()]), 'Permission denied');
    expectFailure(await net.submit(c.adminA, 'AddDocument', [document()]), 'Permission denied');
    expectFailure(await net.submit(c.p1, 'AddDocument', [document({ patient: 'p7' })]), 'Not found', 'patient p7');
  });

  it('validates the metadata', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ciphertextSha256: 'abc' }, 'ciphertextSha256'],
      [{ ciphertextSha256: 'A'.repeat(64) }, 'lowercase'],
      [{ size: -1 }, 'size'],
      [{ size: 1.5 }, 'size'],
      [{ category: '*' }, 'category'],
      [{ category: 'genome' }, 'category'],
      [{ type: 'lab' }, 'LOINC'],
      [{ contentType: 'pdf' }, 'media type'],
      [{ blob: '' }, 'blob'],
      [{ author: RYU }, 'unknown field "author"'],
    ];
    for (const [over, fragment] of cases) {
      expectFailure(await net.submit(c.p1, 'AddDocument', [document(over)]), 'Invalid argument', fragment);
    }
  });
});

describe('reading documents', () => {
  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite({ categories: ['*'] })]));
    for (const [id, category] of [['hp', 'history-physical'], ['lab', 'lab-results'], ['dose', 'radiation-dose']]) {
      ok(await net.submit(c.ryu, 'AddDocument', [document({ id, category })]));
    }
    ok(await net.submit(c.p1, 'AddDocument', [document({ id: 'note', category: 'patient-private' })]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission()]));
  });

  const ids = (list: { id: string }[]) => list.map((d) => d.id);

  it('shows a reader only the categories granted, and hides the rest like missing documents', async () => {
    expect(ids(ok(await net.evaluate(c.lee, 'ListDocuments', ['p1'])))).toEqual(['dose', 'lab']);
    expect(ok(await net.evaluate(c.lee, 'GetDocument', ['p1', 'lab'])).category).toBe('lab-results');
    const hidden = await net.evaluate(c.lee, 'GetDocument', ['p1', 'hp']);
    const missing = await net.evaluate(c.lee, 'GetDocument', ['p1', 'zz']);
    expectFailure(hidden, 'Not found');
    expect(hidden.message).toBe(missing.message.replace('zz', 'hp'));
    expectFailure(await net.evaluate(c.lee, 'GetDocument', ['p1', 'note']), 'Not found');
  });

  it('shows the patient everything and the author what they wrote, even without a permission', async () => {
    expect(ids(ok(await net.evaluate(c.p1, 'ListDocuments', ['p1'])))).toEqual(['dose', 'hp', 'lab', 'note']);
    ok(await net.submit(c.p1, 'RevokePermission', ['p1', 'ryu-write']));
    expect(ids(ok(await net.evaluate(c.ryu, 'ListDocuments', ['p1'])))).toEqual(['dose', 'hp', 'lab']);
    expect(ok(await net.evaluate(c.adminB, 'ListDocuments', ['p1']))).toEqual([]);
    expect(ok(await net.evaluate(c.p2, 'ListDocuments', ['p1']))).toEqual([]);
  });

  it('stops showing documents to a reader once the permission is revoked', async () => {
    ok(await net.submit(c.p1, 'RevokePermission', ['p1', 'perm-lee']));
    expect(ok(await net.evaluate(c.lee, 'ListDocuments', ['p1']))).toEqual([]);
    expectFailure(await net.evaluate(c.lee, 'GetDocument', ['p1', 'lab']), 'Not found');
  });
});

describe('SupersedeDocument and SetDocumentStatus', () => {
  beforeEach(async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [ryuWrite()]));
    ok(await net.submit(c.ryu, 'AddDocument', [document({ id: 'lab1' })]));
  });

  it('adds the replacement and marks the old one superseded, in one event', async () => {
    const r = await net.submit(c.ryu, 'SupersedeDocument', ['p1', 'lab1', document({ id: 'lab2' })]);
    const out = ok(r);
    expect(out.document).toMatchObject({ id: 'lab2', supersedes: 'lab1', status: 'current', author: RYU });
    expect(out.superseded).toMatchObject({ id: 'lab1', status: 'superseded' });
    expect(r.event?.name).toBe('DocumentSuperseded');
    expect(JSON.parse(r.event!.payload)).toEqual(out);
    expect(ok(await net.evaluate(c.p1, 'GetDocument', ['p1', 'lab1'])).status).toBe('superseded');
    expectFailure(await net.submit(c.ryu, 'SupersedeDocument', ['p1', 'lab1', document({ id: 'lab3' })]), 'Invalid argument', 'superseded');
  });

  it('AddDocument with supersedes behaves the same', async () => {
    const r = await net.submit(c.p1, 'AddDocument', [document({ id: 'lab2', supersedes: 'lab1' })]);
    expect(ok(r)).toMatchObject({ id: 'lab2', supersedes: 'lab1', author: 'p1' });
    expect(r.event?.name).toBe('DocumentSuperseded');
  });

  it('needs the same rights as adding', async () => {
    expectFailure(await net.submit(c.lee, 'SupersedeDocument', ['p1', 'lab1', document({ id: 'lab2' })]), 'Not found');
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'lee-rw', rights: ['read', 'write'], categories: ['radiation-dose'] })]));
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'lee-r', categories: ['lab-results'] })]));
    expectFailure(
      await net.submit(c.lee, 'SupersedeDocument', ['p1', 'lab1', document({ id: 'lab2', category: 'radiation-dose' })]),
      'Permission denied',
      'lab-results',
    );
    expectFailure(await net.submit(c.ryu, 'SupersedeDocument', ['p2', 'lab1', document({ id: 'lab2' })]), 'Invalid argument', 'same patient');
  });

  it('entered-in-error is set by the author or the patient only', async () => {
    expectFailure(await net.submit(c.adminA, 'SetDocumentStatus', ['p1', 'lab1', 'entered-in-error']), 'Not found');
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ categories: ['lab-results'] })]));
    expectFailure(await net.submit(c.lee, 'SetDocumentStatus', ['p1', 'lab1', 'entered-in-error']), 'Permission denied');
    expectFailure(await net.submit(c.ryu, 'SetDocumentStatus', ['p1', 'lab1', 'current']), 'Invalid argument');
    const r = await net.submit(c.ryu, 'SetDocumentStatus', ['p1', 'lab1', 'entered-in-error']);
    expect(ok(r).status).toBe('entered-in-error');
    expect(JSON.parse(r.event!.payload)).toMatchObject({ previousStatus: 'current', document: { id: 'lab1', status: 'entered-in-error' } });
    expect(r.event?.name).toBe('DocumentStatusChanged');
    expectFailure(await net.submit(c.p1, 'SetDocumentStatus', ['p1', 'lab1', 'entered-in-error']), 'Invalid argument');
  });

  it('organization-wide write covers the hospital’s practitioners', async () => {
    ok(await net.submit(c.p1, 'GrantPermission', [permission({ id: 'org', grantee: { kind: 'organization', id: B }, rights: ['write'], categories: ['imaging'] })]));
    expect(ok(await net.submit(c.lee, 'AddDocument', [document({ id: 'img', category: 'imaging' })]))).toMatchObject({ author: LEE, authorMsp: B });
  });
});
