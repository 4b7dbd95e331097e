import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBody } from '../../server/demo/fhir-bodies.js';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';


describe.each(BACKENDS)('Consent over the ledger, through FHIR (%s)', (backend) => {
  let net: TestNetwork;
  let patientId: string;
  let patientToken: string;
  let ryuToken: string;
  let otherToken: string;
  let leeToken: string;

  const consentFor = (actor: string, codes: string[], days = 90) => consentBody(patientId, actor, codes, ['access'], days);

  beforeAll(async () => {
    net = await startTestNetwork({ backend });
    const enrolled = await net.a.enrollment.enrollPatient({ username: 'pat', password: 'pw-patient', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794' });
    patientId = enrolled.patientId;
    await net.a.enrollment.enrollPractitioner({ username: 'ryu', password: 'pw', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893' });
    await net.a.enrollment.enrollPractitioner({ username: 'other', password: 'pw', id: 'other', given: 'Ann', family: 'Other', npi: '1245319599' });
    await net.b.enrollment.enrollPractitioner({ username: 'lee', password: 'pw', id: 'lee', given: 'Min', family: 'Lee', npi: '1679576722' });
    patientToken = await net.a.tokenFor('pat');
    ryuToken = await net.a.tokenFor('ryu');
    otherToken = await net.a.tokenFor('other');
    leeToken = await net.b.tokenFor('lee');
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('the patient grants; the grantee sees it, at both hospitals, and an outsider gets 404 and an empty search', async () => {
    const created = await fhir(net.a.baseUrl, patientToken, 'POST', 'Consent', consentFor(`${net.b.baseUrl}/Practitioner/lee`, ['lab-results', 'radiation-dose']));
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('location')).toMatch(new RegExp(`^${net.a.baseUrl}/Consent/[\\w-]+/_history/1$`));
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(Number(created.headers.get('x-ledger-height'))).toBeGreaterThan(0);
    const id = created.body!.id as string;
    expect(created.body).toMatchObject({ resourceType: 'Consent', status: 'active', patient: { reference: `Patient/${patientId}` } });

    const asRyu = await fhir(net.a.baseUrl, ryuToken, 'GET', `Consent/${id}`);
    const missing = await fhir(net.a.baseUrl, otherToken, 'GET', `Consent/does-not-exist`);
    const hidden = await fhir(net.a.baseUrl, otherToken, 'GET', `Consent/${id}`);
    expect(asRyu.status).toBe(404); // Ryu is not the grantee
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ ...missing.body, issue: [{ ...missing.body!.issue[0], diagnostics: `Consent/${id} is not known` }] });

    const asLee = await fhir(net.b.baseUrl, leeToken, 'GET', `Consent/${id}`);
    expect(asLee.status, asLee.text).toBe(200);
    expect(asLee.body!.provision.actor[0].reference.reference).toBe('Practitioner/lee');

    const outsiderSearch = await fhir(net.a.baseUrl, otherToken, 'GET', `Consent?patient=Patient/${patientId}`);
    expect(outsiderSearch.status).toBe(200);
    expect(outsiderSearch.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0 });
    expect(outsiderSearch.body!.entry).toEqual([]);

    const mine = await fhir(net.a.baseUrl, patientToken, 'GET', `Consent?patient=Patient/${patientId}&status=active`);
    expect(mine.body!.total).toBe(1);
    const year = new Date().getUTCFullYear();
    for (const [query, total] of [[`date=ge${year - 1}`, 1], [`date=lt${year - 1}`, 0], [`_lastUpdated=gt${year + 1}`, 0], [`period=ap${year}`, 1], [`period=sa${year + 5}`, 0]] as const) {
      const res = await fhir(net.a.baseUrl, patientToken, 'GET', `Consent?patient=Patient/${patientId}&${query}`);
      expect(res.status, `${query}: ${res.text}`).toBe(200);
      expect(res.body!.total, query).toBe(total);
    }
  });

  it('DELETE revokes: the Consent turns inactive, history keeps both versions, and If-Match guards updates', async () => {
    const created = await fhir(net.a.baseUrl, patientToken, 'POST', 'Consent', consentFor('Practitioner/ryu', ['imaging']));
    const id = created.body!.id as string;
    const stale = await fhir(net.a.baseUrl, patientToken, 'PUT', `Consent/${id}`, { ...consentFor('Practitioner/ryu', ['imaging', 'lab-results']), id }, { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(stale.body!.resourceType).toBe('OperationOutcome');
    const updated = await fhir(net.a.baseUrl, patientToken, 'PUT', `Consent/${id}`, { ...consentFor('Practitioner/ryu', ['imaging', 'lab-results']), id }, { 'if-match': 'W/"1"' });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.headers.get('etag')).toBe('W/"2"');

    const deleted = await fhir(net.a.baseUrl, patientToken, 'DELETE', `Consent/${id}`);
    expect(deleted.status).toBe(200);
    const after = await fhir(net.a.baseUrl, ryuToken, 'GET', `Consent/${id}`);
    expect(after.body!.status).toBe('inactive');
    const history = await fhir(net.a.baseUrl, patientToken, 'GET', `Consent/${id}/_history`);
    expect(history.body!.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['3', '2', '1']);
    const v1 = await fhir(net.a.baseUrl, patientToken, 'GET', `Consent/${id}/_history/1`);
    expect(v1.body!.provision.code).toHaveLength(1);
  });

  it('only the patient may grant: a practitioner creating a Consent is refused and nothing reaches the ledger', async () => {
    const height = net.peer.peer.height();
    const res = await fhir(net.a.baseUrl, ryuToken, 'POST', 'Consent', consentFor('Practitioner/ryu', ['imaging']));
    expect(res.status).toBe(403);
    expect(net.peer.peer.height()).toBe(height);
  });

  it('answers bad input with a 4xx OperationOutcome and changes nothing', async () => {
    const height = net.peer.peer.height();
    const cases: [string, unknown, number][] = [
      ['malformed JSON', '{"resourceType": "Consent",', 400],
      ['wrong resourceType', { ...consentFor('Practitioner/ryu', ['imaging']), resourceType: 'Patient' }, 400],
      ['__proto__ key', '{"resourceType":"Consent","__proto__":{"admin":true}}', 400],
      ['end before start', { ...consentFor('Practitioner/ryu', ['imaging']), provision: { ...consentFor('Practitioner/ryu', ['imaging']).provision, period: { start: '2030-01-01T00:00:00Z', end: '2029-01-01T00:00:00Z' } } }, 422],
      ['unknown category', consentFor('Practitioner/ryu', ['astrology']), 422],
      ['deep nesting', `{"resourceType":"Consent","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400],
    ];
    for (const [name, body, status] of cases) {
      const res = await fhir(net.a.baseUrl, patientToken, 'POST', 'Consent', body);
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(res.body?.resourceType, name).toBe('OperationOutcome');
    }
    const big = await fhir(net.a.baseUrl, patientToken, 'POST', 'Consent', `{"resourceType":"Consent","note":"${'x'.repeat(20 * 1024 * 1024)}"}`);
    expect(big.status).toBe(413);
    expect(net.peer.peer.height()).toBe(height);
    const strict = await fhir(net.a.baseUrl, patientToken, 'GET', 'Consent?colour=blue', undefined, { prefer: 'handling=strict' });
    expect(strict.status).toBe(400);
    const health = await fetch(`${net.a.url}/health`);
    expect(health.status).toBe(200);
  });

  it('no token, a forged token or an unknown user: 401 with an OperationOutcome', async () => {
    expect((await fhir(net.a.baseUrl, undefined, 'GET', 'Consent')).status).toBe(401);
    expect((await fhir(net.a.baseUrl, leeToken, 'GET', 'Consent')).status).toBe(401); // B's token at A
    expect((await fhir(net.a.baseUrl, `${patientToken.slice(0, -4)}AAAA`, 'GET', 'Consent')).status).toBe(401);
    const meta = await fhir(net.a.baseUrl, undefined, 'GET', 'metadata');
    expect(meta.status).toBe(200);
    expect(meta.body!.rest[0].resource.map((r: { type: string }) => r.type)).toContain('Consent');
  });
});
