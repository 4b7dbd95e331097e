import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhir, startTestNetwork, writesSince, type TestNetwork } from '../support/network.js';
import { enrollSeedPeople } from '../support/seed-scenario.js';
import { APP_ORIGIN, authorize, browse, CookieJar, exchangeCode, inputs, introspect, location, pkce, publicApp, register, REDIRECT_URI, tokenRequest, type Json } from './helpers.js';

async function clientGrants(net: TestNetwork, pseudonym: string) {
  const { rows } = await net.a.db.query<{ id: string; grantee_id: string; status: string }>(`SELECT id, grantee_id, status FROM ledger_permissions WHERE patient = $1 AND grantee_kind = 'client' ORDER BY updated_at`, [pseudonym]);
  return rows;
}

describe('SMART authorization-code flow over HTTP (login form, consent screen, token)', () => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let app: Json;

  beforeAll(async () => {
    net = await startTestNetwork();
    people = await enrollSeedPeople(net);
    app = await register(net.a, publicApp());
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('a patient approves: the code becomes tokens with her context, and the ledger holds a permission for the app', async () => {
    const scope = 'openid fhirUser launch/patient offline_access patient/*.rs patient/DocumentReference.c';
    const state = 'state with spaces & ünïcode/+=';
    const { redirect, verifier, consentPage } = await authorize(net.a, {
      clientId: app.client_id,
      scope,
      username: 'mara',
      password: 'pw-mara',
      state,
      consent: ({ scopes }) => ({ scope: scopes, category: ['lab-results', 'radiation-dose'], period_end: '2099-12-31', decision: 'approve' }),
    });
    expect(inputs(consentPage, 'scope', { checkedOnly: true })).toEqual(scope.split(' '));
    expect(consentPage).toMatch(/name="decision" value="approve"/);
    expect(consentPage).toMatch(/<label for="username"|<label for="category-0"/);
    expect(redirect.searchParams.get('state')).toBe(state);
    expect(redirect.searchParams.get('iss')).toBe(net.a.baseUrl);

    const token = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.headers.get('pragma')).toBe('no-cache');
    expect(token.body).toMatchObject({ token_type: 'Bearer', patient: people.patientId, need_patient_banner: true, smart_style_url: net.a.smart.urls.style, fhirUser: `${net.a.baseUrl}/Patient/${people.patientId}` });
    expect(token.body.scope.split(' ').sort()).toEqual(scope.split(' ').sort());
    expect(token.body.expires_in).toBeLessThanOrEqual(3600);
    expect(token.body.refresh_token).toEqual(expect.any(String));

    const access = decodeJwt(token.body.access_token);
    expect(decodeProtectedHeader(token.body.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(access).toMatchObject({ iss: net.a.baseUrl, aud: net.a.baseUrl, sub: 'mara', client_id: app.client_id, patient: people.patientId });
    expect(access.exp! - access.iat!).toBeLessThanOrEqual(3600);
    const idToken = decodeJwt(token.body.id_token);
    expect(decodeProtectedHeader(token.body.id_token).alg).toBe('RS256');
    expect(idToken).toMatchObject({ iss: net.a.baseUrl, aud: app.client_id, sub: 'mara', fhirUser: `${net.a.baseUrl}/Patient/${people.patientId}` });

    const { rows } = await net.a.db.query<{ grantee_kind: string; grantee_id: string; rights: string[]; categories: string[]; valid_to: Date; status: string }>(
      'SELECT grantee_kind, grantee_id, rights, categories, valid_to, status FROM ledger_permissions WHERE patient = $1 AND grantee_kind = $2',
      [people.pseudonym, 'client'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ grantee_id: app.client_id, rights: ['read', 'write'], categories: ['lab-results', 'radiation-dose'], status: 'active' });
    expect(new Date(rows[0].valid_to).toISOString()).toBe('2100-01-01T00:00:00.000Z');

    const read = await fhir(net.a.baseUrl, token.body.access_token, 'GET', `Patient/${people.patientId}`);
    expect(read.status).toBe(200);

    const introspection = await tokenIntrospect(token.body.access_token);
    expect(introspection).toMatchObject({ active: true, client_id: app.client_id, sub: 'mara', patient: people.patientId });
  });

  async function tokenIntrospect(token: string): Promise<Json> {
    const res = await fetch(net.a.smart.urls.introspect, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: app.client_id }) });
    return res.json() as Promise<Json>;
  }

  it('the refresh token rotates and keeps the launch context; the spent one is refused', async () => {
    const { redirect, verifier } = await authorize(net.a, { clientId: app.client_id, scope: 'launch/patient offline_access patient/Patient.r', username: 'mara', password: 'pw-mara' });
    const first = await exchangeCode(net.a, app.client_id, redirect, verifier);
    const refreshed = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: app.client_id });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('pragma')).toBe('no-cache');
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(refreshed.body.patient).toBe(people.patientId);
    const spent = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: app.client_id });
    expect(spent.body.error).toBe('invalid_grant');
  });

  it('a practitioner picks the patient for launch/patient; no ledger permission is written for a practitioner', async () => {
    const before = await clientGrants(net, people.pseudonym);
    const { redirect, verifier, consentPage } = await authorize(net.a, {
      clientId: app.client_id,
      scope: 'openid fhirUser launch/patient user/*.rs online_access',
      username: 'ryu',
      password: 'pw-ryu',
      consent: ({ scopes }) => ({ scope: scopes, patient: people.patientId, decision: 'approve' }),
    });
    expect(consentPage).toMatch(/<select id="patient" name="patient"/);
    expect(consentPage).not.toMatch(/name="category"/);
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ patient: people.patientId, need_patient_banner: true, fhirUser: `${net.a.baseUrl}/Practitioner/ryu` });
    expect(tokens.body.refresh_token).toEqual(expect.any(String)); // online_access
    expect(await clientGrants(net, people.pseudonym)).toEqual(before);
    const caller = await fhir(net.a.baseUrl, tokens.body.access_token, 'GET', 'Practitioner/ryu');
    expect(caller.status).toBe(200);
  });

  it('unchecked scopes are not granted', async () => {
    const { redirect, verifier } = await authorize(net.a, {
      clientId: app.client_id,
      scope: 'openid fhirUser user/Patient.rs user/Practitioner.rs',
      username: 'park',
      password: 'pw-park',
      consent: () => ({ scope: ['openid', 'user/Patient.rs'], decision: 'approve' }),
    });
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(tokens.body.scope).toBe('openid user/Patient.rs');
    expect(tokens.body.fhirUser).toBeUndefined();
  });

  it('deny: back at the app with error=access_denied and the state; nothing written on the ledger', async () => {
    const before = await clientGrants(net, people.pseudonym);
    const height = net.a.ledger.client.projection.height();
    const { redirect } = await authorize(net.a, { clientId: app.client_id, scope: 'patient/*.rs', username: 'mara', password: 'pw-mara', state: 'deny-state', consent: () => ({ decision: 'deny' }) });
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe('deny-state');
    expect(redirect.searchParams.get('code')).toBeNull();
    expect(await clientGrants(net, people.pseudonym)).toEqual(before);
    expect(await writesSince(net, height)).toBe(0);
  });

  it('authorize by POST (authorize-post) leads to the same flow', async () => {
    const jar = new CookieJar();
    const { challenge } = pkce();
    const res = await browse(jar, net.a.smart.urls.authorize, {
      form: { response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT_URI, scope: 'patient/*.rs', state: 'p', aud: net.a.baseUrl, code_challenge: challenge, code_challenge_method: 'S256' },
    });
    expect(res.status).toBe(303);
    const next = await browse(jar, location(res, net.a.url));
    expect(next.status).toBe(303);
    expect(location(next, net.a.url)).toMatch(/\/fhir\/auth\/interaction\//);
  });

  it('the patient revokes the app on the ledger (DELETE Consent): its tokens stop at once and it cannot refresh', async () => {
    const { redirect, verifier } = await authorize(net.a, { clientId: app.client_id, scope: 'offline_access patient/*.rs', username: 'mara', password: 'pw-mara' });
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    const grants = await clientGrants(net, people.pseudonym);
    const permission = grants[grants.length - 1];
    expect(permission.status).toBe('active');
    expect((await fhir(net.a.baseUrl, tokens.body.access_token, 'GET', `Patient/${people.patientId}`)).status).toBe(200);
    const consent = await fhir(net.a.baseUrl, people.tokens.patient, 'GET', `Consent/${permission.id}`);
    expect(consent.status).toBe(200);
    expect((await fhir(net.a.baseUrl, people.tokens.patient, 'DELETE', `Consent/${permission.id}`)).status).toBeLessThan(300);
    const after = await fhir(net.a.baseUrl, tokens.body.access_token, 'GET', `Patient/${people.patientId}`);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await introspect(net.a, tokens.body.access_token, { client_id: app.client_id })).text).toBe('{"active":false}');
    const refresh = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: app.client_id });
    expect(refresh.body.error).toBe('invalid_grant');
  });

  it("a practitioner whose identity the hospital revokes can no longer refresh, though the refresh before worked", async () => {
    const { redirect, verifier } = await authorize(net.a, { clientId: app.client_id, scope: 'offline_access openid fhirUser user/DocumentReference.rs', username: 'park', password: 'pw-park' });
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    const first = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: app.client_id });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    await net.a.enrollment.enrollAdmin('admin-refresh', 'pw-admin-refresh', 'Admin');
    const revoked = await fhir(net.a.baseUrl, await net.a.tokenFor('admin-refresh'), 'POST', 'Practitioner/park/$revoke-identity', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'left the hospital' }] });
    expect(revoked.status, revoked.text).toBe(200);
    const after = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: app.client_id });
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('CORS: the FHIR API and the token endpoint answer registered app origins only', async () => {
    const preflight = await fetch(`${net.a.baseUrl}/Patient`, { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const read = await fetch(`${net.a.baseUrl}/Patient/${people.patientId}`, { headers: { origin: APP_ORIGIN, authorization: `Bearer ${people.tokens.patient}` } });
    expect(read.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(read.headers.get('access-control-expose-headers')).toMatch(/X-Ledger-Height/);
    const stranger = await fetch(`${net.a.baseUrl}/Patient/${people.patientId}`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${people.tokens.patient}` } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    const strangerPreflight = await fetch(`${net.a.baseUrl}/Patient`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(strangerPreflight.headers.get('access-control-allow-origin')).toBeNull();

    const { redirect, verifier } = await authorize(net.a, { clientId: app.client_id, scope: 'patient/Patient.r', username: 'mara', password: 'pw-mara' });
    const fromApp = await tokenRequest(net.a, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: REDIRECT_URI, client_id: app.client_id, code_verifier: verifier }, { origin: APP_ORIGIN });
    expect(fromApp.status).toBe(200);
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const second = await authorize(net.a, { clientId: app.client_id, scope: 'patient/Patient.r', username: 'mara', password: 'pw-mara' });
    const fromEvil = await tokenRequest(net.a, { grant_type: 'authorization_code', code: second.redirect.searchParams.get('code')!, redirect_uri: REDIRECT_URI, client_id: app.client_id, code_verifier: second.verifier }, { origin: 'https://evil.example' });
    expect(fromEvil.status).toBe(400);
    expect(fromEvil.headers.get('access-control-allow-origin')).toBeNull();
  });
});
