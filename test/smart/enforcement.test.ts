// SMART item 7 beyond searches: 401 for every kind of bad token, 403 when the scopes do not cover the type,
// the interaction or the category, writes decided by scopes ∩ ledger, transactions refused whole, paging and
// tokens re-checked after a revocation, and the CapabilityStatement claiming no chained parameters or _has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody, documentBody } from '../../server/demo/fhir-bodies.js';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import { writesSince } from '../support/network.js';
import { clientAssertion, formBody, introspect, type Json } from './helpers.js';
import { buildLeakWorld, call, type LeakWorld } from './leak-world.js';

const ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('enforcement of scopes ∩ ledger on every interaction', () => {
  let world: LeakWorld;
  let base: string;

  beforeAll(async () => {
    world = await buildLeakWorld();
    base = world.net.a.baseUrl;
  }, 180_000);
  afterAll(async () => {
    await world?.stop();
  });

  const token = (user: string, scope: string) => world.net.a.tokenFor(user, scope);
  const ids = (bundle: Json | undefined) => ((bundle?.entry ?? []) as Json[]).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id as string).sort();
  const binary = async (bearer: string, id: string) => {
    const res = await fetch(`${base}/Binary/${id}`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(res.headers.get('x-ledger-height')).toMatch(/^\d+$/);
    return res.status;
  };
  const writes = () => writesSince(world.net, 0);
  const newDocument = (patient: 'mara' | 'leo', category: string) => documentBody(world.ids[patient], category, '11502-2', { data: Buffer.from(`new ${category}`), contentType: 'text/plain' });
  const documentCount = async (patient: 'mara' | 'leo') => (await call(base, await world.net.a.tokenFor(patient), 'GET', 'DocumentReference?_count=0')).body!.total as number;

  it('401 with WWW-Authenticate: Bearer (and X-Ledger-Height) for a missing, malformed, foreign, forged or expired token', async () => {
    const expiring = await world.net.a.tokens.issue({ sub: 'ryu', scope: 'user/*.rs' }, 1);
    const foreign = await world.net.b.tokenFor('lee', 'user/*.rs');
    const valid = await token('ryu', 'user/*.rs');
    const forged = `${valid.slice(0, valid.lastIndexOf('.'))}.${Buffer.alloc(64, 1).toString('base64url')}`;
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const cases: [string, Record<string, string>][] = [
      ['missing', {}],
      ['not Bearer', { authorization: `Basic ${Buffer.from('ryu:pw-ryu').toString('base64')}` }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['another hospital’s', { authorization: `Bearer ${foreign}` }],
      ['forged signature', { authorization: `Bearer ${forged}` }],
      ['expired', { authorization: `Bearer ${expiring}` }],
    ];
    for (const [what, headers] of cases) {
      for (const [method, path] of [['GET', 'DocumentReference'], ['GET', `Binary/${world.docs.d1a}`], ['POST', ''], ['GET', `Patient/${world.ids.mara}`]]) {
        const res = await call(base, undefined, method, path, method === 'POST' ? { resourceType: 'Bundle', type: 'batch', entry: [] } : undefined, headers);
        expect(res.status, `${what} ${method} ${path}`).toBe(401);
        expect(res.headers.get('www-authenticate'), what).toMatch(/^Bearer /);
        expect(res.body!.resourceType).toBe('OperationOutcome');
      }
    }
    const metadata = await call(base, undefined, 'GET', 'metadata');
    expect(metadata.status).toBe(200);
  });

  it('a backend token revoked (RFC 7009) is inactive at once: introspection active:false and FHIR 401', async () => {
    const bearer = await world.systemToken('org', 'system/Patient.rs');
    expect((await call(base, bearer, 'GET', 'Patient')).status).toBe(200);
    const auth = async () => ({ client_id: world.clients.org.client_id, client_assertion_type: ASSERTION, client_assertion: await clientAssertion(world.keys.org, world.clients.org.client_id, world.net.a.smart.urls.token) });
    const revoke = await fetch(world.net.a.smart.urls.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody({ token: bearer, ...(await auth()) }) });
    expect(revoke.status).toBe(200);
    expect((await introspect(world.net.a, bearer, await auth())).text).toBe('{"active":false}');
    const after = await call(base, bearer, 'GET', 'Patient');
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
  });

  it('403 when the scopes do not cover the type: a backend with system/Patient.rs only', async () => {
    const bearer = await (async () => {
      const res = await fetch(world.net.a.smart.urls.token, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formBody({ grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: ASSERTION, client_assertion: await clientAssertion(world.keys.org, world.clients.org.client_id, world.net.a.smart.urls.token) }),
      });
      return ((await res.json()) as Json).access_token as string;
    })();
    for (const path of ['DocumentReference', `DocumentReference/${world.docs.d2c}`, 'Consent', `Consent/${world.consents.cOrg}`, 'AuditEvent']) {
      const res = await call(base, bearer, 'GET', path);
      expect(res.status, path).toBe(403);
      expect(res.body!.issue[0].code).toBe('forbidden');
    }
    expect(await binary(bearer, world.docs.d2c)).toBe(403);
    const patients = await call(base, bearer, 'GET', 'Patient?_revinclude=DocumentReference:subject&_revinclude=Consent:patient');
    expect(ids(patients.body)).toEqual([world.ids.leo]);
    expect(patients.body!.entry.filter((e: Json) => e.search.mode === 'include')).toEqual([]);
  });

  it('403 when the scopes do not cover the interaction: search-only, read-only, v1 read', async () => {
    const searchOnly = await token('ryu', 'user/DocumentReference.s');
    expect(ids((await call(base, searchOnly, 'GET', 'DocumentReference')).body)).toEqual([world.docs.d1a, world.docs.d1d, world.docs.d2c].sort());
    expect((await call(base, searchOnly, 'GET', `DocumentReference/${world.docs.d1a}`)).status).toBe(403);
    expect(await binary(searchOnly, world.docs.d1a)).toBe(403);
    const readOnly = await token('ryu', 'user/DocumentReference.r');
    expect((await call(base, readOnly, 'GET', `DocumentReference/${world.docs.d1a}`)).status).toBe(200);
    expect((await call(base, readOnly, 'GET', 'DocumentReference')).status).toBe(403);
    const v1 = await token('ryu', 'user/DocumentReference.read');
    expect((await call(base, v1, 'GET', `DocumentReference/${world.docs.d1a}`)).status).toBe(200);
    expect((await call(base, v1, 'POST', 'DocumentReference', newDocument('mara', 'lab-results'))).status).toBe(403);
    // a practitioner's patient/ scopes without a patient in context reach nothing
    const noContext = await token('ryu', 'patient/*.rs');
    expect((await call(base, noContext, 'GET', 'DocumentReference')).status).toBe(403);
    expect((await call(base, noContext, 'GET', 'Patient')).status).toBe(403);
  });

  it('?category= scopes: a search naming another category is a 403, other categories are filtered before paging and read as missing', async () => {
    const labOnly = await token('ryu', `user/DocumentReference.rs?category=${encodeURIComponent(`${DATA_CATEGORY_SYSTEM}|lab-results`)} user/Patient.rs`);
    const all = await call(base, labOnly, 'GET', 'DocumentReference?_count=1');
    expect(all.body!.total).toBe(1);
    expect(ids(all.body)).toEqual([world.docs.d1a]);
    expect(all.body!.link.find((l: Json) => l.relation === 'next')).toBeUndefined();
    expect((await call(base, labOnly, 'GET', 'DocumentReference?category=radiation-dose')).status).toBe(403);
    expect(ids((await call(base, labOnly, 'GET', `DocumentReference?category=${DATA_CATEGORY_SYSTEM}|lab-results,radiation-dose`)).body)).toEqual([world.docs.d1a]);
    expect((await call(base, labOnly, 'GET', `DocumentReference/${world.docs.d1a}`)).status).toBe(200);
    expect((await call(base, labOnly, 'GET', `DocumentReference/${world.docs.d1d}`)).status).toBe(404);
    expect(await binary(labOnly, world.docs.d1a)).toBe(200);
    expect(await binary(labOnly, world.docs.d1d)).toBe(404);
    const revinclude = await call(base, labOnly, 'GET', 'Patient?_revinclude=DocumentReference:subject');
    expect(revinclude.body!.entry.filter((e: Json) => e.search.mode === 'include').map((e: Json) => e.resource.id)).toEqual([world.docs.d1a]);
    // a category of another code system is never one of ours
    const foreign = await token('ryu', `user/DocumentReference.rs?category=${encodeURIComponent('http://example.org/categories|lab-results')}`);
    expect((await call(base, foreign, 'GET', 'DocumentReference')).status).toBe(403);
  });

  it('_include never pulls in a type the scopes do not cover', async () => {
    const docsOnly = await token('ryu', 'user/DocumentReference.rs');
    const res = await call(base, docsOnly, 'GET', 'DocumentReference?_include=DocumentReference:subject');
    expect(ids(res.body)).toEqual([world.docs.d1a, world.docs.d1d, world.docs.d2c].sort());
    expect(res.body!.entry.filter((e: Json) => e.search.mode === 'include')).toEqual([]);
    expect((await call(base, docsOnly, 'GET', 'Patient')).status).toBe(403);
  });

  it('writes need the scope and the ledger: user, patient and backend tokens', async () => {
    const before = await writes();
    const readScopes = await token('ryu', 'user/*.rs');
    expect((await call(base, readScopes, 'POST', 'DocumentReference', newDocument('mara', 'lab-results'))).status).toBe(403);
    const create = await token('ryu', 'user/DocumentReference.c');
    expect((await call(base, create, 'POST', 'DocumentReference', newDocument('leo', 'lab-results'))).status).toBe(403);
    expect((await call(base, create, 'POST', 'DocumentReference', newDocument('mara', 'imaging'))).status).toBe(403);
    expect(await writes()).toBe(before);
    const marasBefore = await documentCount('mara');
    const written = await call(base, create, 'POST', 'DocumentReference', newDocument('mara', 'lab-results'));
    expect(written.status, written.text).toBe(201);
    expect(await documentCount('mara')).toBe(marasBefore + 1);

    const patient = await token('mara', 'patient/Consent.rs');
    expect((await call(base, patient, 'POST', 'Consent', consentBody(world.ids.mara, 'Practitioner/park', ['imaging']))).status).toBe(403);
    expect((await call(base, patient, 'DELETE', `Consent/${world.consents.cLee}`)).status).toBe(403);

    const afterUser = await writes();
    const system = await world.systemToken('open', 'system/*.*');
    expect((await call(base, system, 'POST', 'DocumentReference', newDocument('mara', 'imaging'))).status).toBe(403);
    expect((await call(base, system, 'POST', 'Consent', consentBody(world.ids.mara, 'Practitioner/park', ['imaging']))).status).toBe(403);
    expect((await call(base, system, 'DELETE', `Consent/${world.consents.cOpen}`)).status).toBe(403);
    expect((await call(base, system, 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Nobody' }] })).status).toBe(403);
    const upload = await fetch(`${base}/Binary`, { method: 'POST', headers: { authorization: `Bearer ${system}`, 'content-type': 'application/pdf' }, body: Buffer.from('%PDF') });
    expect(upload.status).toBe(403);
    expect(upload.headers.get('x-ledger-height')).toMatch(/^\d+$/);
    expect(await writes()).toBe(afterUser);
    const readOnlySystem = await world.systemToken('open', 'system/*.rs');
    expect((await call(base, readOnlySystem, 'POST', 'DocumentReference', newDocument('mara', 'imaging'))).status).toBe(403);
  });

  it('a transaction with one denied write is refused whole, for patient, user and backend tokens', async () => {
    const before = await writes();
    const consents = async () => (await call(base, await world.net.a.tokenFor('mara'), 'GET', 'Consent?_count=0')).body!.total as number;
    const maraConsents = await consents();
    const patient = await token('mara', 'patient/*.*');
    const asPatient = await call(base, patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: consentBody(world.ids.mara, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent' } },
        { resource: newDocument('leo', 'lab-results'), request: { method: 'POST', url: 'DocumentReference' } },
      ],
    });
    expect(asPatient.status, asPatient.text).toBe(403);
    expect(await consents()).toBe(maraConsents);
    // a read the caller may not make refuses the transaction before its writes, not after them
    const readDenied = await call(base, patient, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: consentBody(world.ids.mara, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent' } },
        { request: { method: 'GET', url: `DocumentReference/${world.docs.d2a}` } },
      ],
    });
    expect(readDenied.status, readDenied.text).toBe(404);
    expect(await consents()).toBe(maraConsents);

    const maras = await documentCount('mara');
    const user = await token('ryu', 'user/*.*');
    const asUser = await call(base, user, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: newDocument('mara', 'lab-results'), request: { method: 'POST', url: 'DocumentReference' } },
        { resource: newDocument('leo', 'imaging'), request: { method: 'POST', url: 'DocumentReference' } },
      ],
    });
    expect(asUser.status, asUser.text).toBe(403);
    expect(await documentCount('mara')).toBe(maras);

    const system = await world.systemToken('org', 'system/*.*');
    const asSystem = await call(base, system, 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `DocumentReference/${world.docs.d2c}` } },
        { resource: newDocument('leo', 'treatment-plan'), request: { method: 'POST', url: 'DocumentReference' } },
      ],
    });
    expect(asSystem.status, asSystem.text).toBe(403);
    expect(await writes()).toBe(before);
  });

  it('the CapabilityStatement claims no chained parameters and no _has', async () => {
    const res = await call(base, undefined, 'GET', 'metadata');
    for (const resource of res.body!.rest[0].resource as Json[]) {
      for (const param of (resource.searchParam ?? []) as Json[]) {
        expect(param.name, `${resource.type}.${param.name}`).toMatch(/^_?[a-z][a-z-]*$/i);
        expect(param.name).not.toBe('_has');
        expect(param.chain).toBeUndefined();
      }
      expect(resource.searchChain ?? []).toEqual([]);
    }
  });

  it('every page is re-checked: a permission revoked mid-paging disappears from the next page and the total', async () => {
    const park = await token('park', 'user/*.rs');
    const first = await call(base, park, 'GET', 'DocumentReference?_count=1&_sort=-_lastUpdated');
    expect(first.body!.total).toBe(2);
    const next = first.body!.link.find((l: Json) => l.relation === 'next').url as string;
    expect((await call(base, await world.net.a.tokenFor('leo'), 'DELETE', `Consent/${world.consents.cPark}`)).status).toBe(200);
    const second = await call(base, park, 'GET', next.slice(base.length + 1));
    expect(second.body!.total).toBe(1);
    expect(ids(second.body)).toEqual([]);
    const again = await call(base, park, 'GET', 'DocumentReference?_count=1&_sort=-_lastUpdated');
    expect(ids(again.body)).toEqual([world.docs.d2c]);
    expect(await binary(park, world.docs.d2b)).toBe(404);
  });

  it('a grant to a backend client revoked on the ledger stops it at the next request', async () => {
    const system = await world.systemToken('open', 'system/*.rs');
    expect(ids((await call(base, system, 'GET', 'DocumentReference')).body)).toEqual([world.docs.d1b]);
    const mara = world.net.a.users.callerOf((await world.net.a.users.find('mara'))!, []).ledgerUser;
    const committed = await world.net.a.ledger.client.consentry.revokePermission(mara, world.pseudonyms.mara, world.consents.cOpen);
    await world.net.a.ledger.client.projection.waitForBlock(committed.blockNumber);
    const after = await call(base, system, 'GET', 'DocumentReference');
    expect(after.body!.total).toBe(0);
    expect((await call(base, system, 'GET', `DocumentReference/${world.docs.d1b}`)).status).toBe(404);
    expect(await binary(system, world.docs.d1b)).toBe(404);
    expect((await call(base, system, 'GET', 'Patient')).body!.total).toBe(0);
  });

  it('revoking an app on the ledger makes its tokens inactive: introspection active:false, FHIR 401', async () => {
    const app = world.callers.find((c) => c.name.startsWith("Mara's app"))!;
    const bearer = await app.token();
    expect((await call(base, bearer, 'GET', 'DocumentReference')).status).toBe(200);
    expect((await call(base, await world.net.a.tokenFor('mara'), 'DELETE', `Consent/${world.consents.cApp}`)).status).toBe(200);
    const after = await call(base, bearer, 'GET', 'DocumentReference');
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
    expect((await introspect(world.net.a, bearer, { client_id: world.clients.app.client_id })).text).toBe('{"active":false}');
  });
});
