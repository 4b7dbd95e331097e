import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNetwork, type TestNetwork } from '../support/network.js';
import { enrollSeedPeople } from '../support/seed-scenario.js';
import {
  APP_ORIGIN,
  authorize,
  backendKey,
  browse,
  clientAssertion,
  CookieJar,
  exchangeCode,
  formAction,
  inputs,
  location,
  publicApp,
  register,
  startAuthorize,
  tokenRequest,
  type Json,
} from './helpers.js';

describe('EHR launch: the launch endpoint for EHRs and the built-in oncology EHR page', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let app: Json;
  let ehr: Json;
  let ehrKey: Awaited<ReturnType<typeof backendKey>>;

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    app = await register(net.a, publicApp('Oncology viewer'));
    ehrKey = await backendKey('RS384');
    ehr = await register(net.a, { client_name: 'external EHR', token_endpoint_auth_method: 'private_key_jwt', jwks: ehrKey.jwks, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'system/launch system/Patient.rs' });
  });
  afterAll(async () => {
    await net?.stop();
  });

  async function ehrToken(scope = 'system/launch'): Promise<string> {
    const res = await tokenRequest(net.a, { grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await clientAssertion(ehrKey, ehr.client_id, net.a.smart.urls.token) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.access_token;
  }

  async function registerLaunch(token: string | undefined, body: Record<string, string>): Promise<{ status: number; body: Json }> {
    const res = await fetch(net.a.smart.urls.launch, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Json };
  }

  it('an EHR registers a launch context with its backend token and gets an opaque, short-lived handle', async () => {
    const token = await ehrToken();
    const res = await registerLaunch(token, { client_id: app.client_id, patient: `Patient/${people.patientId}`, practitioner: 'Practitioner/ryu', encounter: 'Encounter/enc-7' });
    expect(res.status).toBe(201);
    expect(res.body.expires_in).toBeLessThanOrEqual(300);
    const handle: string = res.body.launch;
    expect(handle).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const decoded = Buffer.from(handle, 'base64url');
    expect(decoded).toHaveLength(32);
    for (const secret of [people.patientId, 'ryu', 'enc-7', app.client_id]) expect(decoded.toString('latin1')).not.toContain(secret);

    const { redirect, verifier, consentPage } = await authorize(net.a, { clientId: app.client_id, scope: 'launch openid fhirUser patient/*.rs', launch: handle, username: 'ryu', password: 'pw-ryu' });
    expect(consentPage).toContain('Mara Okafor');
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(tokens.body).toMatchObject({ patient: people.patientId, encounter: 'enc-7', need_patient_banner: false, fhirUser: `${net.a.baseUrl}/Practitioner/ryu` });

    // single use: the same handle again is refused at the authorization endpoint
    const again = await startAuthorize(net.a, { client_id: app.client_id, scope: 'launch patient/*.rs', launch: handle });
    const url = new URL(location(again, net.a.url));
    expect(url.searchParams.get('error')).toBe('invalid_request');
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('the launch endpoint needs a backend token with system/launch and checks what it is told', async () => {
    expect((await registerLaunch(undefined, { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/ryu' })).status).toBe(401);
    expect((await registerLaunch(people.tokens.ryu, { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/ryu' })).status).toBe(403);
    expect((await registerLaunch(await ehrToken('system/Patient.rs'), { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/ryu' })).status).toBe(403);
    const token = await ehrToken();
    expect((await registerLaunch(token, { client_id: 'nobody', patient: people.patientId, practitioner: 'Practitioner/ryu' })).status).toBe(400);
    expect((await registerLaunch(token, { client_id: app.client_id, patient: 'nope', practitioner: 'Practitioner/ryu' })).status).toBe(400);
    expect((await registerLaunch(token, { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/lee' })).status).toBe(400);
  });

  it('a launch is completed only by the practitioner it names, and only by the app it is for', async () => {
    const token = await ehrToken();
    const forRyu = (await registerLaunch(token, { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/ryu' })).body.launch;
    await expect(authorize(net.a, { clientId: app.client_id, scope: 'launch patient/*.rs', launch: forRyu, username: 'park', password: 'pw-park' })).rejects.toThrow(/403/);
    const other = await register(net.a, publicApp('Another app'));
    const forApp = (await registerLaunch(token, { client_id: app.client_id, patient: people.patientId, practitioner: 'Practitioner/ryu' })).body.launch;
    const res = await startAuthorize(net.a, { client_id: other.client_id, scope: 'launch patient/*.rs', launch: forApp });
    expect(new URL(location(res, net.a.url)).searchParams.get('error')).toBe('invalid_request');
  });

  it('the oncology EHR page: a practitioner signs in, picks a patient, launches the app, and the app gets that patient', async () => {
    const jar = new CookieJar();
    const ehrUrl = `${net.a.url}/ehr`;
    let res = await browse(jar, ehrUrl);
    let html = await res.text();
    expect(html).toMatch(/<label for="username">/);
    res = await browse(jar, formAction(html, net.a.url), { form: { username: 'ryu', password: 'pw-ryu' } });
    expect(res.status).toBe(303);
    html = await (await browse(jar, ehrUrl)).text();
    expect(html).toContain('Mara Okafor');
    expect(html).toContain('Oncology viewer');
    const csrf = inputs(html, 'csrf')[0];

    expect((await browse(jar, `${ehrUrl}/launch`, { form: { patient: people.patientId, client_id: app.client_id } })).status).toBe(403);
    res = await browse(jar, `${ehrUrl}/launch`, { form: { csrf, patient: people.patientId, client_id: app.client_id } });
    expect(res.status).toBe(303);
    const launchUrl = new URL(location(res, net.a.url));
    expect(launchUrl.origin + launchUrl.pathname).toBe(`${APP_ORIGIN}/launch`);
    expect(launchUrl.searchParams.get('iss')).toBe(net.a.baseUrl);
    const handle = launchUrl.searchParams.get('launch')!;

    // the app redirects the same browser to authorize: the hospital session spares a second login
    const { redirect, verifier } = await authorize(net.a, { clientId: app.client_id, scope: 'launch openid fhirUser patient/*.rs', launch: handle, username: 'nobody', password: 'wrong', jar });
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(tokens.body).toMatchObject({ patient: people.patientId, need_patient_banner: false, fhirUser: `${net.a.baseUrl}/Practitioner/ryu` });
  });

  it('the EHR page is for practitioners', async () => {
    const jar = new CookieJar();
    await browse(jar, `${net.a.url}/ehr/login`, { form: { username: 'mara', password: 'pw-mara' } });
    const res = await browse(jar, `${net.a.url}/ehr`);
    expect(res.status).toBe(403);
    const wrong = await browse(new CookieJar(), `${net.a.url}/ehr/login`, { form: { username: 'ryu', password: 'nope' } });
    expect(wrong.status).toBe(401);
  });
});
