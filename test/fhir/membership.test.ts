import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResource } from '../../server/fhir/validation/index.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { createScratchDatabase } from '../support/postgres.js';
import { consentBody, enrollSeedPeople } from '../support/seed-scenario.js';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ids = (bundle: Body | undefined): string[] => {
  expect(bundle?.resourceType, JSON.stringify(bundle)).toBe('Bundle');
  return bundle!.entry.filter((e: Body) => e.search?.mode === 'match').map((e: Body) => e.resource.id as string);
};

describe('Patient, Practitioner, Organization and PractitionerRole in the hospital database', () => {
  let net: TestNetwork;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let admin: string;
  const as = (token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) => fhir(net.a.baseUrl, token, method, path, body, headers);
  // patients created through FHIR by the admin (no ledger enrollment)
  const patients: Record<string, string> = {};

  beforeAll(async () => {
    // hospital A on PostgreSQL, hospital B on PGlite: the search SQL runs on both
    scratch = await createScratchDatabase();
    net = await startTestNetwork({ databaseUrlA: scratch.url });
    people = await enrollSeedPeople(net);
    await net.a.enrollment.enrollAdmin('admin-a', 'pw-admin', 'Admin A');
    admin = await net.a.tokenFor('admin-a');
    const specs: [string, Body][] = [
      ['elodie', { name: [{ family: 'Ñúñez', given: ['Élodie', 'Marie'] }], birthDate: '1990-02-14', gender: 'female', identifier: [{ system: 'urn:oid:1.2.3.4', value: 'MRN-77' }] }],
      ['elo', { name: [{ family: 'Nunes', given: ['Elodie'] }], birthDate: '1985', gender: 'female', identifier: [{ system: 'urn:oid:9.9', value: 'MRN-77' }] }],
      ['zed', { name: [{ family: "O'Brien", given: ['Zed'], prefix: ['Mr'] }], birthDate: '2001-11-30', gender: 'male' }],
    ];
    for (const [key, body] of specs) {
      const res = await as(admin, 'POST', 'Patient', { resourceType: 'Patient', ...body });
      expect(res.status, res.text).toBe(201);
      patients[key] = res.body!.id;
    }
  });
  afterAll(async () => {
    await net?.stop();
    await scratch?.drop();
  });

  it('CRUD with versions: create, update with If-Match, vread, history, stale If-Match 412, delete → 410', async () => {
    const created = await as(admin, 'POST', 'Organization', { resourceType: 'Organization', id: 'ignored', name: 'Hôpital Saint-Éloi', alias: ['HSE'], identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:hse' }] });
    expect(created.status, created.text).toBe(201);
    const id = created.body!.id as string;
    expect(id).not.toBe('ignored');
    expect(created.headers.get('location')).toBe(`${net.a.baseUrl}/Organization/${id}/_history/1`);
    expect(created.headers.get('etag')).toBe('W/"1"');

    const updated = await as(admin, 'PUT', `Organization/${id}`, { ...created.body, name: 'Hôpital Saint-Éloi de Lyon' }, { 'if-match': 'W/"1"' });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body!.meta.versionId).toBe('2');
    const stale = await as(admin, 'PUT', `Organization/${id}`, { ...created.body, name: 'lost update' }, { 'if-match': 'W/"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body!.resourceType).toBe('OperationOutcome');

    expect((await as(people.tokens.ryu, 'GET', `Organization/${id}/_history/1`)).body!.name).toBe('Hôpital Saint-Éloi');
    expect((await as(people.tokens.ryu, 'GET', `Organization/${id}`)).body!.name).toBe('Hôpital Saint-Éloi de Lyon');
    const history = await as(people.tokens.ryu, 'GET', `Organization/${id}/_history`);
    expect(history.body!.entry.map((e: Body) => e.resource.meta.versionId)).toEqual(['2', '1']);

    const role = await as(admin, 'POST', 'PractitionerRole', { resourceType: 'PractitionerRole', active: true, practitioner: { reference: 'Practitioner/ryu' }, organization: { reference: `Organization/${id}` } });
    expect(role.status, role.text).toBe(201);
    const inUse = await as(admin, 'DELETE', `Organization/${id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body!.issue[0].diagnostics).toContain(`PractitionerRole/${role.body!.id}`);
    expect((await as(admin, 'DELETE', `PractitionerRole/${role.body!.id}`)).status).toBe(200);
    expect((await as(admin, 'DELETE', `Organization/${id}`)).status).toBe(200);
    expect((await as(people.tokens.ryu, 'GET', `Organization/${id}`)).status).toBe(410);
    expect((await as(admin, 'GET', `Organization?name=saint`)).body!.total).toBe(0);

    // update-as-create, for admins only
    const hospital = await as(admin, 'PUT', 'Organization/HospitalAMSP', { resourceType: 'Organization', id: 'HospitalAMSP', name: 'Hospital A' });
    expect(hospital.status).toBe(201);
    expect((await as(admin, 'PUT', 'Organization/new-one', { resourceType: 'Organization', id: 'new-one', name: 'x' }, { 'if-match': 'W/"1"' })).status).toBe(412);
  });

  it('only admins write; everyone at the hospital reads practitioners and organizations', async () => {
    expect((await as(people.tokens.ryu, 'POST', 'Organization', { resourceType: 'Organization', name: 'Shadow' })).status).toBe(403);
    expect((await as(people.tokens.patient, 'PUT', 'Practitioner/ryu', { resourceType: 'Practitioner', id: 'ryu', name: [{ family: 'Evil' }] })).status).toBe(403);
    expect((await as(people.tokens.ryu, 'DELETE', 'Practitioner/park')).status).toBe(403);
    const ryu = await as(people.tokens.patient, 'GET', 'Practitioner/ryu');
    expect(ryu.status).toBe(200);
    expect(ryu.body!.identifier[0]).toEqual({ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' });
    // an account still uses it
    expect((await as(admin, 'DELETE', 'Practitioner/ryu')).status).toBe(409);
  });

  it('string search ignores case and accents, starts-with by default, :exact and :contains', async () => {
    const search = async (q: string) => (await as(admin, 'GET', `Patient?${q}`)).body;
    expect(ids(await search('name=ELO')).sort()).toEqual([patients.elodie, patients.elo].sort());
    expect(ids(await search('family=nunez'))).toEqual([patients.elodie]);
    expect(ids(await search('family=nun&_sort=family'))).toEqual([patients.elo, patients.elodie]);
    expect(ids(await search('family:exact=Ñúñez'))).toEqual([patients.elodie]);
    expect(ids(await search('family:exact=nunez'))).toEqual([]);
    expect(ids(await search('given:contains=lod')).sort()).toEqual([patients.elodie, patients.elo].sort());
    expect(ids(await search('given=marie'))).toEqual([patients.elodie]);
    expect(ids(await search('name=mr'))).toEqual([patients.zed]);
    expect(ids(await search(`family=${encodeURIComponent("o'b")}`))).toEqual([patients.zed]);
    expect(ids(await search('family=%25'))).toEqual([]); // a LIKE wildcard is a literal character here
    expect(ids(await search('family=okafor,nunes')).sort()).toEqual([people.patientId, patients.elo].sort());
    expect(ids(await search('name=elodie&family=nunes'))).toEqual([patients.elo]);
    expect(ids(await search('family:missing=true'))).toEqual([]);
    expect(ids((await as(admin, 'GET', 'Practitioner?family=RY')).body)).toEqual(['ryu']);
    expect(ids((await as(admin, 'GET', 'Practitioner?name=dr&family=park')).body)).toEqual(['park']);
  });

  it('token, date, _id, _lastUpdated, reference searches and sorting', async () => {
    const search = async (q: string) => (await as(admin, 'GET', `Patient?${q}`)).body;
    expect(ids(await search('identifier=urn:oid:1.2.3.4|MRN-77'))).toEqual([patients.elodie]);
    expect(ids(await search('identifier=MRN-77')).sort()).toEqual([patients.elodie, patients.elo].sort());
    expect(ids(await search('identifier=urn:oid:9.9|'))).toEqual([patients.elo]);
    expect(ids(await search('identifier=urn:other|MRN-77'))).toEqual([]);
    expect(ids(await search(`identifier=urn:consentry:pseudonym|${people.pseudonym}`))).toEqual([people.patientId]);
    expect(ids(await search('gender=male'))).toEqual([patients.zed]);
    expect(ids(await search('gender:not=male&_sort=birthdate'))).toEqual([people.patientId, patients.elo, patients.elodie]);

    expect(ids(await search('birthdate=1990-02'))).toEqual([patients.elodie]);
    expect(ids(await search('birthdate=1990-02-14'))).toEqual([patients.elodie]);
    expect(ids(await search('birthdate=1985-06-01'))).toEqual([]); // a year-precision birthDate is not within one day
    expect(ids(await search('birthdate=1985'))).toEqual([patients.elo]);
    expect(ids(await search('birthdate=ge1985&birthdate=lt2000&_sort=birthdate'))).toEqual([patients.elo, patients.elodie]);
    expect(ids(await search('birthdate=lt1970'))).toEqual([people.patientId]);
    expect(ids(await search('_sort=-birthdate'))).toEqual([patients.zed, patients.elodie, patients.elo, people.patientId]);
    expect((await as(admin, 'GET', 'Patient?birthdate=1990-02-30')).status).toBe(400);

    expect(ids(await search(`_id=${patients.zed},${patients.elo}&_sort=_lastUpdated`))).toEqual([patients.elo, patients.zed]);
    const zed = await as(admin, 'GET', `Patient/${patients.zed}`);
    expect(ids(await search(`_lastUpdated=ge${zed.body!.meta.lastUpdated}`))).toEqual([patients.zed]);
    expect(ids(await search(`_sort=-_lastUpdated&_count=1`))).toEqual([patients.zed]);

    const role = await as(admin, 'POST', 'PractitionerRole', { resourceType: 'PractitionerRole', practitioner: { reference: 'Practitioner/park' }, organization: { reference: 'Organization/HospitalAMSP' } });
    expect(role.status, role.text).toBe(201);
    const byPractitioner = await as(people.tokens.ryu, 'GET', 'PractitionerRole?practitioner=Practitioner/park');
    expect(ids(byPractitioner.body)).toEqual([role.body!.id]);
    expect(ids((await as(people.tokens.ryu, 'GET', `PractitionerRole?organization=${net.a.baseUrl}/Organization/HospitalAMSP&practitioner=park`)).body)).toEqual([role.body!.id]);
    expect(ids((await as(people.tokens.ryu, 'GET', 'PractitionerRole?practitioner=Practitioner/ryu')).body)).toEqual([]);
    expect((await as(admin, 'GET', 'Patient?eye-colour=blue', undefined, { prefer: 'handling=strict' })).status).toBe(400);
  });

  it('a patient the caller may not read is a 404 like a missing one and is left out of searches and totals', async () => {
    const missing = await as(people.tokens.park, 'GET', 'Patient/no-such-patient');
    const hidden = await as(people.tokens.park, 'GET', `Patient/${people.patientId}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ ...missing.body, issue: [{ ...missing.body!.issue[0], diagnostics: `Patient/${people.patientId} is not known` }] });
    expect((await as(people.tokens.park, 'GET', `Patient/${people.patientId}/_history`)).status).toBe(404);
    expect((await as(people.tokens.park, 'GET', `Patient/${people.patientId}/_history/1`)).status).toBe(404);
    expect((await as(people.tokens.park, 'GET', 'Patient?family=okafor')).body).toMatchObject({ total: 0, entry: [] });
    expect((await as(people.tokens.park, 'GET', 'Patient')).body!.total).toBe(0);
    expect((await as(people.tokens.park, 'PUT', `Patient/${people.patientId}`, { resourceType: 'Patient', id: people.patientId })).status).toBe(404);

    // the patient sees only themself
    const self = await as(people.tokens.patient, 'GET', 'Patient');
    expect(self.body!.total).toBe(1);
    expect(ids(self.body)).toEqual([people.patientId]);
    expect((await as(people.tokens.patient, 'GET', `Patient/${patients.elodie}`)).status).toBe(404);
    expect((await as(admin, 'GET', 'Patient')).body!.total).toBe(4);

    // a current ledger permission opens the patient to that practitioner, and the read is logged
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/park', ['lab-results']));
    expect(grant.status, grant.text).toBe(201);
    const opened = await as(people.tokens.park, 'GET', `Patient/${people.patientId}`);
    expect(opened.status).toBe(200);
    expect(opened.body!.name[0].family).toBe('Okafor');
    expect((await as(people.tokens.park, 'GET', 'Patient?family=okafor')).body!.total).toBe(1);
    expect((await as(people.tokens.park, 'GET', 'Patient')).body!.total).toBe(1);
    const { rows } = await net.a.db.query<{ action: string }>(`SELECT action FROM read_access_log WHERE resource_type = 'Patient' AND agent = 'HospitalAMSP/Practitioner/park' ORDER BY seq`);
    expect(rows.map((r) => r.action)).toEqual(['read', 'search', 'search']);
    expect((await as(people.tokens.park, 'PUT', `Patient/${people.patientId}`, opened.body)).status).toBe(403);

    expect((await as(people.tokens.patient, 'DELETE', `Consent/${grant.body!.id}`)).status).toBe(200);
    expect((await as(people.tokens.park, 'GET', `Patient/${people.patientId}`)).status).toBe(404);
  });

  it('a patient of another hospital appears under their pseudonym, with the demographics they share, to a practitioner they granted', async () => {
    const path = `Patient/${people.pseudonym}`;
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'GET', path)).status).toBe(404);
    const grant = await fhir(net.a.baseUrl, people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results']));
    expect(grant.status, grant.text).toBe(201);
    await waitFor(async () => (await fhir(net.b.baseUrl, people.tokens.lee, 'GET', path)).status === 200);
    const minimal = await fhir(net.b.baseUrl, people.tokens.lee, 'GET', path);
    expect(minimal.body).toMatchObject({ resourceType: 'Patient', id: people.pseudonym, identifier: [{ system: 'urn:consentry:pseudonym', value: people.pseudonym }] });
    expect(minimal.body!.meta.tag[0].code).toBe('shared-demographics');
    expect(minimal.body!.name).toEqual([{ use: 'official', family: 'Okafor', given: ['Mara'] }]);
    expect(validateResource(minimal.body).filter((i) => i.severity === 'error')).toEqual([]);
    const found = await fhir(net.b.baseUrl, people.tokens.lee, 'GET', `Patient?identifier=urn:consentry:pseudonym|${people.pseudonym}`);
    expect(ids(found.body)).toEqual([people.pseudonym]);
    // at its home hospital the pseudonym is not an id
    expect((await as(admin, 'GET', path)).status).toBe(404);
  });

  it('a patient may edit their own telecom and address, nothing else', async () => {
    const current = (await as(people.tokens.patient, 'GET', `Patient/${people.patientId}`)).body!;
    const edited = await as(people.tokens.patient, 'PUT', `Patient/${people.patientId}`, { ...current, telecom: [{ system: 'phone', value: '+1 631 555 0100' }] });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body!.telecom[0].value).toBe('+1 631 555 0100');
    expect((await as(people.tokens.patient, 'PUT', `Patient/${people.patientId}`, { ...edited.body, birthDate: '1971-04-12' })).status).toBe(403);
  });

  it('bad input: unknown element or impossible date 400, broken or mistyped reference 422 naming the element', async () => {
    const unknown = await as(admin, 'POST', 'Patient', { resourceType: 'Patient', eyeColour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(unknown.body!.issue[0].expression).toEqual(['Patient.eyeColour']);
    const date = await as(admin, 'POST', 'Patient', { resourceType: 'Patient', birthDate: '1990-02-30' });
    expect(date.status).toBe(400);
    expect(date.body!.issue[0].expression).toEqual(['Patient.birthDate']);
    const broken = await as(admin, 'POST', 'PractitionerRole', { resourceType: 'PractitionerRole', practitioner: { reference: 'Practitioner/nope' } });
    expect(broken.status).toBe(422);
    expect(broken.body!.issue[0].expression).toEqual(['PractitionerRole.practitioner']);
    const mistyped = await as(admin, 'POST', 'PractitionerRole', { resourceType: 'PractitionerRole', practitioner: { reference: 'Organization/HospitalAMSP' } });
    expect(mistyped.status).toBe(422);
    expect(mistyped.body!.issue[0].expression).toEqual(['PractitionerRole.practitioner']);
    const foreign = await as(admin, 'POST', 'Patient', { resourceType: 'Patient', generalPractitioner: [{ reference: 'http://elsewhere.example/fhir/Practitioner/x' }] });
    expect(foreign.status).toBe(422);
    expect(foreign.body!.issue[0].expression).toEqual(['Patient.generalPractitioner[0]']);
    expect((await as(admin, 'PUT', `Patient/${'a'.repeat(64)}`, { resourceType: 'Patient', id: 'a'.repeat(64) })).status).toBe(400);
    expect((await as(admin, 'GET', 'Patient')).body!.total).toBe(4);
  });

  it('GET /metadata lists the four types with their search parameters', async () => {
    const res = await fetch(`${net.a.baseUrl}/metadata`);
    const cs = (await res.json()) as Body;
    const byType = new Map<string, Body>(cs.rest[0].resource.map((r: Body) => [r.type, r]));
    for (const type of ['Patient', 'Practitioner', 'Organization', 'PractitionerRole']) {
      expect(byType.get(type)?.interaction.map((i: Body) => i.code)).toEqual(expect.arrayContaining(['read', 'vread', 'search-type', 'create', 'update', 'delete', 'history-instance']));
    }
    expect(byType.get('Patient')!.searchParam.map((p: Body) => p.name)).toEqual(expect.arrayContaining(['identifier', 'name', 'family', 'given', 'birthdate', '_id', '_lastUpdated']));
    expect(byType.get('PractitionerRole')!.searchParam.map((p: Body) => p.name)).toEqual(expect.arrayContaining(['practitioner', 'organization']));
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
