import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE } from '../profiles/index.js';
import type { Resource } from '../server/fhir/resource.js';
import { startTestNetwork, writesSince, type TestNetwork } from '../test/support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../test/support/seed-scenario.js';
import { badInputCases } from './cases/bad-input.js';
import { exerciseLifecycle } from './capability/lifecycle.js';
import { claimsOf, probeInteractions, probeOperationsAndProfiles, probeSearch, probeSystem, type ResourceClaim } from './capability/probe.js';
import { entriesOf, FhirUser, matchIds } from './support/client.js';
import { invalidExample, TYPE_PROBES } from './support/examples.js';
import { conformingResourceCount } from './support/received.js';

describe('FHIR R4 conformance, driven by fhir-kit-client', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let anonymous: FhirUser;
  let patient: FhirUser;
  let ryu: FhirUser;
  let park: FhirUser;
  let lee: FhirUser;
  let admin: FhirUser;
  let statement: Resource;
  let claims: ResourceClaim[];
  const claim = (type: string) => claims.find((c) => c.type === type);

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    await net.a.enrollment.enrollAdmin('admin-a', 'pw-admin', 'Admin of Hospital A');
    anonymous = new FhirUser('anonymous', net.a.baseUrl);
    patient = new FhirUser('patient', net.a.baseUrl, people.tokens.patient);
    ryu = new FhirUser('ryu', net.a.baseUrl, people.tokens.ryu);
    park = new FhirUser('park', net.a.baseUrl, people.tokens.park);
    lee = new FhirUser('lee', net.b.baseUrl, people.tokens.lee);
    admin = new FhirUser('admin', net.a.baseUrl, await net.a.tokenFor('admin-a'));
    // Dr. Ryu treats the patient: he may read and write her oncology records
    await patient.ok((c) => c.create({ resourceType: 'Consent', body: consentBody(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose'], ['access', 'correct']) }));
    statement = (await anonymous.ok((c) => c.capabilityStatement())).resource!;
    claims = claimsOf(statement);
  });
  afterAll(async () => {
    await net?.stop();
  });

  describe('the CapabilityStatement states exactly what the routes implement', () => {
    it('is an R4 CapabilityStatement naming our profiles, JSON only', () => {
      expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1' });
      expect(statement.format).toContain('application/fhir+json');
      expect(statement.format).not.toContain('xml');
      expect(claim('Consent')?.supportedProfile).toEqual([PROFILE.consent]);
      expect(claim('DocumentReference')?.supportedProfile).toEqual([PROFILE.documentReference]);
      expect(claims.map((c) => c.type)).toEqual(expect.arrayContaining(['Consent', 'DocumentReference', 'Binary']));
    });

    it('every interaction it lists is served and every one it omits is refused, type by type and system-wide', async () => {
      const problems: string[] = [];
      for (const c of claims) problems.push(...(await probeInteractions(admin, c)));
      problems.push(...(await probeSystem(admin, statement)));
      expect(problems).toEqual([]);
    });

    it('every search parameter, _include and _revinclude it lists is accepted; others are refused under strict handling', async () => {
      const problems: string[] = [];
      for (const c of claims) problems.push(...(await probeSearch(admin, c)));
      expect(problems).toEqual([]);
    });

    it('every listed operation is served and every named profile is ours', async () => {
      const problems: string[] = [];
      for (const c of claims) problems.push(...(await probeOperationsAndProfiles(admin, c)));
      expect(problems).toEqual([]);
    });

    it('each type does for real what it claims: create, conditional create, read, search, update, If-Match, updateCreate, vread, history, delete', async () => {
      const users = { patient, ryu, admin };
      const exercised: Record<string, string[]> = {};
      for (const c of claims.filter((x) => x.type !== 'Binary')) {
        const probe = TYPE_PROBES[c.type];
        if (!probe) throw new Error(`${c.type} is served but conformance/support/examples.ts has no probe for it`);
        exercised[c.type] = await exerciseLifecycle(c, probe, users, patient, people);
      }
      for (const c of claims.filter((x) => x.type !== 'Binary')) {
        const listed = (c.interaction ?? []).map((i) => i.code).filter((code) => code !== 'search-type' || c.searchParam?.some((p) => p.name === '_id'));
        expect(exercised[c.type], c.type).toEqual(expect.arrayContaining(listed));
      }
    });
  });

  describe('Consent through a standard client', () => {
    it('create, read by the grantee at another hospital, vread, update, history, delete (= revoke) and 404 for outsiders', async () => {
      const body = consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['imaging']);
      const created = await patient.ok((c) => c.create({ resourceType: 'Consent', body }));
      const id = created.resource!.id as string;
      expect(created.resource).toMatchObject({ status: 'active', meta: { versionId: '1' } });

      const atB = await lee.ok((c) => c.read({ resourceType: 'Consent', id }));
      expect((atB.resource!.provision as { actor: { reference: { reference: string } }[] }).actor[0].reference.reference).toBe('Practitioner/lee');
      const hidden = await park.fails((c) => c.read({ resourceType: 'Consent', id }));
      const missing = await park.fails((c) => c.read({ resourceType: 'Consent', id: crypto.randomUUID() }));
      expect(hidden.status).toBe(404);
      expect((hidden.outcome.issue as { code: string }[])[0].code).toBe((missing.outcome.issue as { code: string }[])[0].code);

      const changed = consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['imaging', 'treatment-plan']);
      const updated = await patient.ok((c) => c.update({ resourceType: 'Consent', id, body: { ...changed, id }, options: { headers: { 'if-match': 'W/"1"' } } }));
      expect(updated.headers.get('etag')).toBe('W/"2"');
      const stale = await patient.fails((c) => c.update({ resourceType: 'Consent', id, body: { ...changed, id }, options: { headers: { 'if-match': 'W/"1"' } } }));
      expect(stale.status).toBe(412);
      const staleDelete = await patient.fails((c) => c.delete({ resourceType: 'Consent', id, options: { headers: { 'if-match': 'W/"1"' } } }));
      expect(staleDelete.status).toBe(412);

      const v1 = await patient.ok((c) => c.vread({ resourceType: 'Consent', id, version: '1' }));
      expect((v1.resource!.provision as { code: unknown[] }).code).toHaveLength(1);
      await patient.ok((c) => c.delete({ resourceType: 'Consent', id, options: { headers: { 'if-match': 'W/"2"' } } }));
      const revoked = await lee.ok((c) => c.read({ resourceType: 'Consent', id }));
      expect(revoked.resource!.status).toBe('inactive');
      const history = await patient.ok((c) => c.resourceHistory({ resourceType: 'Consent', id }));
      expect((history.resource!.entry as { resource: Resource }[]).map((e) => e.resource.meta?.versionId)).toEqual(['3', '2', '1']);
    });

    it('conditional create: If-None-Exist returns the one match, creates when none, refuses several with 412', async () => {
      const body = consentBody(people.patientId, 'Practitioner/park', ['imaging']);
      const first = await patient.ok((c) => c.create({ resourceType: 'Consent', body }));
      const id = first.resource!.id as string;
      const again = await patient.ok((c) => c.create({ resourceType: 'Consent', body, options: { headers: { 'if-none-exist': `_id=${id}` } } }));
      expect(again.status).toBe(200);
      expect(again.resource!.id).toBe(id);
      const fresh = await patient.ok((c) => c.create({ resourceType: 'Consent', body, options: { headers: { 'if-none-exist': `_id=${crypto.randomUUID()}` } } }));
      expect(fresh.status).toBe(201);
      const several = await patient.fails((c) => c.create({ resourceType: 'Consent', body, options: { headers: { 'if-none-exist': `patient=Patient/${people.patientId}` } } }));
      expect(several.status).toBe(412);
    });

    it('Prefer: return=minimal, representation and OperationOutcome', async () => {
      const body = () => consentBody(people.patientId, 'Practitioner/park', ['treatment-plan']);
      const minimal = await patient.ok((c) => c.create({ resourceType: 'Consent', body: body(), options: { headers: { prefer: 'return=minimal' } } }));
      expect(minimal.status).toBe(201);
      expect(minimal.resource).toBeUndefined();
      expect(minimal.headers.get('location')).toMatch(new RegExp(`^${net.a.baseUrl}/Consent/[\\w-]+/_history/1$`));
      const representation = await patient.ok((c) => c.create({ resourceType: 'Consent', body: body(), options: { headers: { prefer: 'return=representation' } } }));
      expect(representation.resource!.resourceType).toBe('Consent');
      const asOutcome = await patient.ok((c) => c.create({ resourceType: 'Consent', body: body(), options: { headers: { prefer: 'return=OperationOutcome' } } }));
      expect(asOutcome.resource!.resourceType).toBe('OperationOutcome');
      const id = representation.resource!.id as string;
      const updatedMinimal = await patient.ok((c) => c.update({ resourceType: 'Consent', id, body: { ...body(), id }, options: { headers: { prefer: 'return=minimal' } } }));
      expect(updatedMinimal.status).toBe(200);
      expect(updatedMinimal.resource).toBeUndefined();
      expect(updatedMinimal.headers.get('etag')).toBe('W/"2"');
    });
  });

  describe('DocumentReference and Binary', () => {
    it('inline content: create, read, search; readable at another hospital only once granted', async () => {
      const bytes = Buffer.from('{"resourceType":"Bundle","type":"collection","entry":[]}');
      const created = await ryu.ok((c) => c.create({ resourceType: 'DocumentReference', body: documentBody(people.patientId, 'lab-results', '11502-2', { data: bytes, contentType: 'application/fhir+json' }) }));
      const id = created.resource!.id as string;
      expect(created.status).toBe(201);
      expect((created.resource!.content as { attachment: { url: string } }[])[0].attachment.url).toMatch(new RegExp(`Binary/${id}$`));
      const read = await patient.ok((c) => c.read({ resourceType: 'DocumentReference', id }));
      expect(read.resource!.id).toBe(id);
      const search = await patient.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { patient: `Patient/${people.patientId}`, category: 'lab-results' } }));
      expect(matchIds(search.resource)).toContain(id);

      expect((await lee.fails((c) => c.read({ resourceType: 'DocumentReference', id }))).status).toBe(404);
      await patient.ok((c) => c.create({ resourceType: 'Consent', body: consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results']) }));
      const atB = await lee.ok((c) => c.read({ resourceType: 'DocumentReference', id }));
      expect(atB.resource!.id).toBe(id);
      // (downloading it at B needs the data key re-wrapped for the new grantee, DESIGN §6: not built yet)
      const download = await ryu.raw('GET', `Binary/${id}`);
      expect(download.status).toBe(200);
      expect(download.bytes.equals(bytes)).toBe(true);
    });

    it('Binary: raw upload, a DocumentReference pointing to it, raw download; nothing for those without permission', async () => {
      const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(256 * 1024)]);
      const upload = await ryu.raw('POST', 'Binary', { body: pdf, headers: { 'content-type': 'application/pdf' } });
      expect(upload.status).toBe(201);
      expect(upload.json).toMatchObject({ resourceType: 'Binary', contentType: 'application/pdf' });
      const binaryId = upload.json!.id as string;
      expect(upload.headers.get('location')).toBe(`${net.a.baseUrl}/Binary/${binaryId}`);
      const doc = await ryu.ok((c) => c.create({ resourceType: 'DocumentReference', body: documentBody(people.patientId, 'radiation-dose', '73569-6', { binaryId, contentType: 'application/pdf' }) }));
      expect(doc.resource!.id).toBe(binaryId);
      const download = await patient.raw('GET', `Binary/${binaryId}`);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/pdf');
      expect(download.bytes.equals(pdf)).toBe(true);
      const denied = await park.raw('GET', `Binary/${binaryId}`);
      expect(denied.status).toBe(404);
      expect(denied.json?.resourceType).toBe('OperationOutcome');
    });
  });

  describe('searching', () => {
    let documentIds: string[];

    beforeAll(async () => {
      // twelve documents in one transaction: one SubmitBatch on the ledger
      const entry = Array.from({ length: 12 }, (_, i) => ({
        resource: documentBody(people.patientId, i % 2 ? 'lab-results' : 'history-physical', i % 2 ? '11502-2' : '34117-2', { data: Buffer.from(`document ${i}`), contentType: 'text/plain' }),
        request: { method: 'POST', url: 'DocumentReference' },
      }));
      const tx = await ryu.ok((c) => c.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry } }));
      documentIds = (tx.resource!.entry as { resource: Resource }[]).map((e) => e.resource.id as string);
    });

    it('_count paging: following next links to the end yields exactly the unpaged result, total on every page', async () => {
      for (const [user, type, params] of [
        [ryu, 'DocumentReference', { patient: `Patient/${people.patientId}` }],
        [patient, 'Consent', { patient: `Patient/${people.patientId}` }],
      ] as const) {
        const all = await user.ok((c) => c.search({ resourceType: type, searchParams: { ...params, _count: 200 } }));
        const expected = matchIds(all.resource);
        expect(expected.length).toBeGreaterThan(5);
        let page = (await user.ok((c) => c.search({ resourceType: type, searchParams: { ...params, _count: 5 } }))).resource;
        const seen: string[] = [];
        for (let pages = 1; ; pages++) {
          expect(page!.total).toBe(expected.length);
          seen.push(...matchIds(page));
          const next = (page!.link as { relation: string }[]).find((l) => l.relation === 'next');
          if (!next) break;
          expect(pages).toBeLessThan(100);
          page = (await user.ok((c) => c.nextPage({ bundle: page as never })!)).resource;
        }
        expect(seen).toEqual(expected);
        expect(new Set(seen).size).toBe(seen.length);
      }
      expect(documentIds).toHaveLength(12);
    });

    it('_count=0 answers the total alone, with no link that loops', async () => {
      const counted = await ryu.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { patient: `Patient/${people.patientId}`, _count: 0 } }));
      expect(counted.resource!.total).toBeGreaterThanOrEqual(12);
      expect(matchIds(counted.resource)).toEqual([]);
      expect((counted.resource!.link as { relation: string }[]).map((l) => l.relation)).toEqual(['self']);
    });

    it('_sort by date and _lastUpdated, both directions', async () => {
      const dates = async (sort: string) => {
        const found = await ryu.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { patient: `Patient/${people.patientId}`, _sort: sort, _count: 200 } }));
        return entriesOf(found.resource, 'match').map((r) => (sort.includes('date') ? (r.date as string) : (r.meta!.lastUpdated as string)));
      };
      for (const key of ['date', '_lastUpdated']) {
        const up = await dates(key);
        const down = await dates(`-${key}`);
        expect(up).toEqual([...up].sort());
        expect(down).toEqual([...up].sort().reverse());
        expect(new Set(up).size).toBeGreaterThan(1);
      }
    });

    it('_include=DocumentReference:subject brings the Patient when Patient is served, never what the caller may not read', async () => {
      const servesPatient = claims.some((c) => c.type === 'Patient');
      const search = await ryu.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { patient: `Patient/${people.patientId}`, _include: 'DocumentReference:subject' } }));
      const included = entriesOf(search.resource, 'include');
      if (servesPatient) {
        expect(included.map((r) => `${r.resourceType}/${r.id}`)).toEqual([`Patient/${people.patientId}`]);
      } else {
        expect(included).toEqual([]);
      }
      const outsider = await park.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { patient: `Patient/${people.patientId}`, _include: 'DocumentReference:subject' } }));
      expect(outsider.resource).toMatchObject({ total: 0 });
      expect(outsider.resource!.entry).toEqual([]);
      const atB = await lee.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { _include: 'DocumentReference:subject' } }));
      expect(entriesOf(atB.resource, 'match').length).toBeGreaterThan(0);
      expect(entriesOf(atB.resource, 'include').map((r) => r.resourceType)).toEqual(servesPatient ? ['Patient'] : []);
    });

    it('an unknown search parameter is ignored with a warning, or refused under handling=strict', async () => {
      const lenient = await ryu.ok((c) => c.search({ resourceType: 'DocumentReference', searchParams: { colour: 'blue', _count: 1 } }));
      expect(entriesOf(lenient.resource, 'outcome')[0]).toMatchObject({ resourceType: 'OperationOutcome' });
      expect((lenient.resource!.link as { url: string }[])[0].url).not.toMatch(/colour/);
      const strict = await ryu.fails((c) => c.search({ resourceType: 'DocumentReference', searchParams: { colour: 'blue' }, options: { headers: { prefer: 'handling=strict' } } }));
      expect(strict.status).toBe(400);
    });
  });

  describe('batch and transaction Bundles', () => {
    it('a batch answers each entry on its own, a conditional create in it included', async () => {
      const existing = await patient.ok((c) => c.create({ resourceType: 'Consent', body: consentBody(people.patientId, 'Practitioner/park', ['imaging']) }));
      const response = await patient.ok((c) =>
        c.batch({
          body: {
            resourceType: 'Bundle',
            type: 'batch',
            entry: [
              { resource: consentBody(people.patientId, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent' } },
              { resource: consentBody(people.patientId, 'Practitioner/park', ['imaging']), request: { method: 'POST', url: 'Consent', ifNoneExist: `_id=${existing.resource!.id}` } },
              { request: { method: 'GET', url: `Consent/${crypto.randomUUID()}` } },
              { resource: { ...consentBody(people.patientId, 'Practitioner/park', ['imaging']), colour: 'blue' }, request: { method: 'POST', url: 'Consent' } },
              { request: { method: 'GET', url: `Consent?patient=Patient/${people.patientId}&_count=1` } },
            ],
          },
        }),
      );
      const entries = response.resource!.entry as { resource?: Resource; response: { status: string; outcome?: Resource } }[];
      expect(response.resource!.type).toBe('batch-response');
      expect(entries.map((e) => e.response.status)).toEqual(['201', '200', '404', '400', '200']);
      expect(entries[1].resource!.id).toBe(existing.resource!.id);
      expect(entries[2].response.outcome!.resourceType).toBe('OperationOutcome');
      expect(entries[4].resource!.type).toBe('searchset');
    });

    const imagingGrants = (...actors: string[]) => ({
      resourceType: 'Bundle' as const,
      type: 'transaction' as const,
      entry: actors.map((actor) => ({ resource: consentBody(people.patientId, actor, ['imaging']), request: { method: 'POST' as const, url: 'Consent' } })),
    });

    it('a transaction is all or nothing: one refused entry leaves the ledger unchanged', async () => {
      const ok = await patient.ok((c) =>
        c.transaction({ body: imagingGrants('Practitioner/park', 'Practitioner/ryu') }),
      );
      expect((ok.resource!.entry as { response: { status: string } }[]).map((e) => e.response.status)).toEqual(['201', '201']);
      const height = net.peer.peer.height();
      const refused = await patient.fails((c) =>
        c.transaction({ body: imagingGrants('Practitioner/park', 'Practitioner/does-not-exist') }),
      );
      expect(refused.status).toBe(422);
      expect(await writesSince(net, height)).toBe(0);
    });
  });

  describe('$validate on every served type', () => {
    it('a valid resource gets an information outcome, an invalid one error issues', async () => {
      for (const c of claims.filter((x) => (x.operation ?? []).some((o) => o.name === 'validate'))) {
        const probe = TYPE_PROBES[c.type];
        if (!probe) throw new Error(`${c.type} is served but conformance/support/examples.ts has no example for it`);
        const validate = (resource: Resource) => ryu.ok((cl) => cl.operation({ name: '$validate', resourceType: c.type, input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource }] } }));
        const valid = await validate(probe.example(people));
        const validIssues = valid.resource!.issue as { severity: string; diagnostics?: string }[];
        expect(validIssues.filter((i) => i.severity === 'error' || i.severity === 'fatal'), `${c.type} valid example`).toEqual([]);
        expect(validIssues.some((i) => i.severity === 'information'), `${c.type} valid example`).toBe(true);
        const invalid = await validate(invalidExample(c.type));
        const errors = (invalid.resource!.issue as { severity: string; expression?: string[] }[]).filter((i) => i.severity === 'error');
        expect(errors.length, `${c.type} invalid example`).toBeGreaterThanOrEqual(3);
        const wrongType = await validate({ resourceType: c.type === 'Patient' ? 'Practitioner' : 'Patient' });
        expect((wrongType.resource!.issue as { severity: string }[])[0].severity, `${c.type} given another type`).toBe('error');
      }
    });
  });

  describe('formats', () => {
    it('_format=json is served; _format=xml and Accept: application/fhir+xml are 406 OperationOutcomes', async () => {
      const json = await patient.ok((c) => c.request(`Consent?_format=json&_count=1`));
      expect(json.resource!.resourceType).toBe('Bundle');
      expect(json.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect((await patient.ok((c) => c.request(`Consent?_format=application/fhir%2Bjson&_count=1`))).status).toBe(200);
      expect((await patient.fails((c) => c.request(`Consent?_format=xml`))).status).toBe(406);
      expect((await anonymous.fails((c) => c.request(`metadata?_format=xml`))).status).toBe(406);
      expect((await patient.fails((c) => c.request(`Consent`, { options: { headers: { accept: 'application/fhir+xml' } } }))).status).toBe(406);
    });
  });

  describe('bad input', () => {
    it('each case is a 4xx OperationOutcome; the server stays healthy and the ledger unchanged', async () => {
      const height = net.peer.peer.height();
      const failures: string[] = [];
      for (const c of badInputCases({ patient, ryu }, people.patientId)) {
        const answer = await c.send();
        if (answer.json?.resourceType !== 'OperationOutcome') failures.push(`${c.name}: ${answer.status} without an OperationOutcome`);
        else if (c.status ? answer.status !== c.status : answer.status < 400 || answer.status >= 500) failures.push(`${c.name}: ${answer.status} ${answer.bytes.toString('utf8').slice(0, 200)}`);
        const health = await fetch(`${net.a.url}/health`);
        if (health.status !== 200) failures.push(`${c.name}: /health answered ${health.status} afterwards`);
      }
      expect(failures).toEqual([]);
      expect(await writesSince(net, height)).toBe(0);
      const stillServing = await patient.ok((c) => c.search({ resourceType: 'Consent', searchParams: { _count: 1 } }));
      expect(stillServing.status).toBe(200);
    });

    it('no token or a forged one: 401 OperationOutcome; metadata needs none', async () => {
      expect((await anonymous.fails((c) => c.search({ resourceType: 'Consent' }))).status).toBe(401);
      const forged = new FhirUser('forged', net.a.baseUrl, `${people.tokens.patient.slice(0, -6)}AAAAAA`);
      expect((await forged.fails((c) => c.search({ resourceType: 'Consent' }))).status).toBe(401);
      const otherHospital = new FhirUser('lee-at-a', net.a.baseUrl, people.tokens.lee);
      expect((await otherHospital.fails((c) => c.read({ resourceType: 'Consent', id: 'x' }))).status).toBe(401);
    });
  });

  it('checked every resource it received against R4 and our profiles (a real amount of them)', () => {
    expect(conformingResourceCount()).toBeGreaterThan(200);
  });
});
