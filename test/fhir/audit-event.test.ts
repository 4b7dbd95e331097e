import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResource } from '../../server/fhir/validation/index.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { consentBody, documentBody, enrollSeedPeople } from '../support/seed-scenario.js';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LEDGER_EVENT = 'http://consentry.example/fhir/CodeSystem/ledger-event';
const READ_KIND = 'http://consentry.example/fhir/CodeSystem/read-kind';

const events = (bundle: Body | undefined): Body[] => {
  expect(bundle?.resourceType, JSON.stringify(bundle)).toBe('Bundle');
  return bundle!.entry.filter((e: Body) => e.search?.mode === 'match').map((e: Body) => e.resource);
};
/** "PermissionGranted by Patient/x" — what happened and who did it, in one readable string */
const summary = (e: Body) => {
  const kind = e.subtype.find((c: Body) => c.system === LEDGER_EVENT || c.system === READ_KIND).code;
  return `${e.action} ${kind} by ${e.agent[0].who.reference}`;
};

describe('AuditEvent over ledger transactions and the read-access log', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let adminA: string;
  let adminB: string;
  let docId: string;
  let parkGrant: string;

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    await net.a.enrollment.enrollAdmin('admin-a', 'pw-admin', 'Admin A');
    await net.b.enrollment.enrollAdmin('admin-b', 'pw-admin', 'Admin B');
    adminA = await net.a.tokenFor('admin-a');
    adminB = await net.b.tokenFor('admin-b');
    const a = (token: string, method: string, path: string, body?: unknown) => fhir(net.a.baseUrl, token, method, path, body);

    const ryuGrant = await a(people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/ryu', ['lab-results'], ['access', 'correct']));
    expect(ryuGrant.status, ryuGrant.text).toBe(201);
    const doc = await a(people.tokens.ryu, 'POST', 'DocumentReference', documentBody(people.patientId, 'lab-results', '11502-2', { data: Buffer.from('{"resourceType":"Bundle","type":"collection"}'), contentType: 'application/fhir+json' }));
    expect(doc.status, doc.text).toBe(201);
    docId = doc.body!.id;
    const grant = await a(people.tokens.patient, 'POST', 'Consent', consentBody(people.patientId, 'Practitioner/park', ['lab-results']));
    expect(grant.status, grant.text).toBe(201);
    parkGrant = grant.body!.id;
    expect((await a(people.tokens.park, 'GET', `DocumentReference/${docId}`)).status).toBe(200);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it("the patient's history: registration, grants, the upload and the reads, in chronological order", async () => {
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', 'AuditEvent?_sort=date');
    expect(res.status, res.text).toBe(200);
    const history = events(res.body);
    const patient = `Patient/${people.patientId}`;
    expect(history.map(summary)).toEqual([
      'C PatientRegistered by Organization/HospitalAMSP',
      `C PermissionGranted by ${patient}`,
      'C DocumentAdded by Practitioner/ryu',
      'R read by Practitioner/ryu', // the upload answers with the stored document
      `C PermissionGranted by ${patient}`,
      'R read by Practitioner/park',
    ]);
    const recorded = history.map((e) => Date.parse(e.recorded));
    expect(recorded).toEqual([...recorded].sort((x, y) => x - y));
    expect(res.body!.total).toBe(6);

    const grant = history[4];
    expect(grant.entity.map((e: Body) => e.what.reference)).toEqual([`Consent/${parkGrant}`, patient]);
    expect(grant.type).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' });
    expect(grant.subtype).toContainEqual({ system: 'http://hl7.org/fhir/restful-interaction', code: 'create' });
    expect(grant.purposeOfEvent[0].coding[0].code).toBe('TREAT');
    expect(grant.id).toMatch(/^ledger-\d+-\d+-\d+$/);
    const txId = grant.extension.find((x: Body) => x.url.endsWith('/ledger-tx-id')).valueString;
    const { rows } = await net.a.db.query<{ block_number: number }>('SELECT block_number FROM ledger_events WHERE tx_id = $1', [txId]);
    expect(grant.extension.find((x: Body) => x.url.endsWith('/ledger-block-number')).valueUnsignedInt).toBe(Number(rows[0].block_number));

    const read = history[5];
    expect(read.id).toMatch(/^read-\d+$/);
    expect(read.entity.map((e: Body) => e.what.reference)).toEqual([`DocumentReference/${docId}`, patient]);
    expect(read.purposeOfEvent[0].coding[0].code).toBe('TREAT');

    for (const event of history) {
      expect(validateResource(event).filter((i) => i.severity === 'error')).toEqual([]);
      // ids are stable: a read by id answers the same resource
      expect((await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `AuditEvent/${event.id}`)).body).toEqual(event);
    }
  });

  it('search by action, agent, entity, patient and date; -date, _count and paging', async () => {
    const search = async (q: string, token = people.tokens.patient): Promise<Body> => (await fhir(net.a.baseUrl, token, 'GET', `AuditEvent?${q}`)).body!;
    expect(events(await search('action=R')).map(summary)).toEqual(['R read by Practitioner/ryu', 'R read by Practitioner/park']);
    expect(events(await search('action=http://hl7.org/fhir/audit-event-action|C,D')).length).toBe(4);
    expect(events(await search('agent=Practitioner/park')).map(summary)).toEqual(['R read by Practitioner/park']);
    expect(events(await search(`agent=Patient/${people.patientId}`)).length).toBe(2);
    expect(events(await search(`entity=DocumentReference/${docId}`)).map(summary)).toEqual(['C DocumentAdded by Practitioner/ryu', 'R read by Practitioner/ryu', 'R read by Practitioner/park']);
    expect(events(await search(`entity=Consent/${parkGrant}`)).length).toBe(1);
    expect((await search(`patient=Patient/${people.patientId}`)).total).toBe(6);
    expect((await search(`patient=${net.a.baseUrl}/Patient/${people.patientId}`)).total).toBe(6);
    expect((await search('subtype=DocumentAdded')).total).toBe(1);

    const all = events(await search('_sort=date'));
    const newestFirst = events(await search('_sort=-date'));
    expect(newestFirst.map((e) => e.id)).toEqual(all.map((e) => e.id).reverse());
    const since = all[3].recorded;
    expect(events(await search(`date=ge${since}`)).map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    expect(events(await search(`date=lt${since}`)).map((e) => e.id)).toEqual(all.slice(0, 3).map((e) => e.id));

    const page = await search('_count=4');
    expect(page.total).toBe(6);
    expect(events(page).map((e) => e.id)).toEqual(all.slice(0, 4).map((e) => e.id));
    const next = page.link.find((l: Body) => l.relation === 'next').url as string;
    const second = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', next.slice(net.a.baseUrl.length + 1));
    expect(events(second.body).map((e) => e.id)).toEqual(all.slice(4).map((e) => e.id));
  });

  it('revoking shows up as a delete by the patient', async () => {
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${parkGrant}`)).status).toBe(200);
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `AuditEvent?entity=Consent/${parkGrant}&_sort=-date&_count=1`);
    expect(events(res.body).map(summary)).toEqual([`D PermissionRevoked by Patient/${people.patientId}`]);
    expect(res.body!.total).toBe(2);
  });

  it('practitioners see what they did; admins their hospital; nobody else sees anything', async () => {
    const park = await fhir(net.a.baseUrl, people.tokens.park, 'GET', 'AuditEvent');
    expect(events(park.body).map(summary)).toEqual(['R read by Practitioner/park']);
    const ryu = await fhir(net.a.baseUrl, people.tokens.ryu, 'GET', 'AuditEvent');
    expect(events(ryu.body).map(summary)).toEqual(['C DocumentAdded by Practitioner/ryu', 'R read by Practitioner/ryu']);

    const added = events(ryu.body)[0];
    const missing = await fhir(net.a.baseUrl, people.tokens.park, 'GET', 'AuditEvent/ledger-999999-0-0');
    const hidden = await fhir(net.a.baseUrl, people.tokens.park, 'GET', `AuditEvent/${added.id}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ ...missing.body, issue: [{ ...missing.body!.issue[0], diagnostics: `AuditEvent/${added.id} is not known` }] });
    expect((await fhir(net.a.baseUrl, people.tokens.park, 'GET', `AuditEvent?entity=DocumentReference/${docId}`)).body!.total).toBe(1);

    // A's admin: everything about A's patients and A's own transactions, not B's
    expect((await fhir(net.a.baseUrl, adminA, 'GET', `AuditEvent?patient=Patient/${people.patientId}`)).body!.total).toBe(7);
    const registeredAtA = await fhir(net.a.baseUrl, adminA, 'GET', 'AuditEvent?subtype=PractitionerRegistered');
    expect(events(registeredAtA.body).map((e) => e.entity[0].what.reference).sort()).toEqual(['Practitioner/park', 'Practitioner/ryu']);
    const registeredAtB = await fhir(net.b.baseUrl, adminB, 'GET', 'AuditEvent?subtype=PractitionerRegistered');
    expect(events(registeredAtB.body).map(summary)).toEqual(['C PractitionerRegistered by Organization/HospitalBMSP']);
    expect(events(registeredAtB.body)[0].entity[0].what.reference).toBe('Practitioner/lee');

    // B's replica holds A's patient's grant too, but it is neither B's transaction nor B's patient
    const grant = events((await fhir(net.a.baseUrl, people.tokens.patient, 'GET', 'AuditEvent?subtype=PermissionGranted&_count=1')).body)[0];
    expect((await fhir(net.b.baseUrl, adminB, 'GET', `AuditEvent/${grant.id}`)).status).toBe(404);
    expect((await fhir(net.b.baseUrl, people.tokens.lee, 'GET', 'AuditEvent')).body!.total).toBe(0);
  });

  it('AuditEvents are read-only: create, update and delete are 405', async () => {
    const event = { resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: new Date().toISOString(), agent: [{ requestor: true }], source: { observer: { display: 'x' } } };
    expect((await fhir(net.a.baseUrl, adminA, 'POST', 'AuditEvent', event)).status).toBe(405);
    expect((await fhir(net.a.baseUrl, adminA, 'PUT', 'AuditEvent/read-1', { ...event, id: 'read-1' })).status).toBe(405);
    expect((await fhir(net.a.baseUrl, adminA, 'DELETE', 'AuditEvent/read-1')).status).toBe(405);
    const cs = (await (await fetch(`${net.a.baseUrl}/metadata`)).json()) as Body;
    const audit = cs.rest[0].resource.find((r: Body) => r.type === 'AuditEvent');
    expect(audit.interaction.map((i: Body) => i.code)).toEqual(['read', 'search-type']);
    expect(audit.searchParam.map((p: Body) => p.name)).toEqual(expect.arrayContaining(['patient', 'entity', 'agent', 'date', 'action']));
  });

  it('a search is one disclosure per patient, naming every document it served, found by each of them', async () => {
    const ryuSearch = await fhir(net.a.baseUrl, people.tokens.ryu, 'GET', `DocumentReference?patient=Patient/${people.patientId}`);
    expect(ryuSearch.body!.total).toBe(1);
    const res = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `AuditEvent?entity=DocumentReference/${docId}&_sort=-date&_count=1`);
    const [search] = events(res.body);
    expect(summary(search)).toBe('R search by Practitioner/ryu');
    expect(search.subtype).toContainEqual({ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' });
    expect(search.entity.map((e: Body) => e.what.reference)).toEqual([`DocumentReference/${docId}`, `Patient/${people.patientId}`]);
    expect(validateResource(search).filter((i) => i.severity === 'error')).toEqual([]);
    // the search was logged before it was answered; a search that served nothing discloses nothing
    const nothing = await fhir(net.a.baseUrl, people.tokens.ryu, 'GET', `DocumentReference?patient=Patient/${people.patientId}&category=imaging`);
    expect(nothing.body!.total).toBe(0);
    const after = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', 'AuditEvent?action=R&_sort=-date&_count=1');
    expect(events(after.body)[0].id).toBe(search.id);
  });
});
