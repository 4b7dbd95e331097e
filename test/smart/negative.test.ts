import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { enrollSeedPeople } from '../support/seed-scenario.js';
import {
  authorize,
  backendKey,
  clientAssertion,
  exchangeCode,
  introspect,
  json,
  location,
  pkce,
  publicApp,
  register,
  REDIRECT_URI,
  startAuthorize,
  tokenRequest,
  type Json,
} from './helpers.js';

const ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// PGlite (one process owns the database: one-time uses decided in memory) and PostgreSQL (shared: decided in the database)
describe.each(BACKENDS)('SMART negative catalogue over HTTP (%s)', (database) => {
  let net: TestNetwork;
  let people: Awaited<ReturnType<typeof enrollSeedPeople>>;
  let app: Json;
  let other: Json;
  let resourceServer: Json;
  let backend: Json;
  let key: Awaited<ReturnType<typeof backendKey>>;

  beforeAll(async () => {
    net = await startTestNetwork({ backend: database });
    people = await enrollSeedPeople(net);
    app = await register(net.a, publicApp('App one'));
    other = await register(net.a, publicApp('App two'));
    resourceServer = await register(net.a, { client_name: 'resource server', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    key = await backendKey('ES384');
    backend = await register(net.a, { client_name: 'backend', token_endpoint_auth_method: 'private_key_jwt', jwks: key.jwks, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
  });
  afterAll(async () => {
    await net?.stop();
  });

  const asResourceServer = () => ({ client_id: resourceServer.client_id, client_secret: resourceServer.client_secret });
  const practitionerCode = (scope = 'openid fhirUser offline_access user/*.rs') => authorize(net.a, { clientId: app.client_id, scope, username: 'park', password: 'pw-park' });

  function errorRedirect(res: Response): URL {
    expect(res.status).toBe(303);
    const url = new URL(location(res, net.a.url));
    expect(url.href.startsWith(REDIRECT_URI)).toBe(true);
    expect(url.searchParams.get('code')).toBeNull();
    return url;
  }

  it('aud that is not this FHIR base (or missing) is refused, back at the app with the state', async () => {
    for (const aud of ['https://elsewhere.example/fhir', `${net.a.baseUrl}/Patient`, undefined]) {
      const url = errorRedirect(await startAuthorize(net.a, { client_id: app.client_id, aud, state: 'keep me' }));
      expect(url.searchParams.get('error')).toBe('invalid_request');
      expect(url.searchParams.get('error_description')).toMatch(/aud/);
      expect(url.searchParams.get('state')).toBe('keep me');
    }
  });

  it('PKCE: missing and plain are refused at authorize; a wrong verifier or the challenge itself at the token endpoint', async () => {
    expect(errorRedirect(await startAuthorize(net.a, { client_id: app.client_id, code_challenge: undefined, code_challenge_method: undefined })).searchParams.get('error')).toBe('invalid_request');
    const plain = errorRedirect(await startAuthorize(net.a, { client_id: app.client_id, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
    expect(plain.searchParams.get('error')).toBe('invalid_request');

    const wrong = await practitionerCode();
    const res = await exchangeCode(net.a, app.client_id, wrong.redirect, pkce().verifier);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');

    const echoed = await practitionerCode();
    const challenge = crypto.createHash('sha256').update(echoed.verifier).digest('base64url');
    const sneaky = await exchangeCode(net.a, app.client_id, echoed.redirect, challenge);
    expect(sneaky.body.error).toBe('invalid_grant');
  });

  it('a replayed code is refused and revokes what the first exchange issued', async () => {
    const { redirect, verifier } = await practitionerCode();
    const first = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(first.status).toBe(200);
    expect((await fhir(net.a.baseUrl, first.body.access_token, 'GET', 'Practitioner/park')).status).toBe(200);
    const replay = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect((await introspect(net.a, first.body.access_token, asResourceServer())).text).toBe('{"active":false}');
    const denied = await fhir(net.a.baseUrl, first.body.access_token, 'GET', 'Practitioner/park');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const refresh = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: app.client_id });
    expect(refresh.body.error).toBe('invalid_grant');
  });

  it('a redirect_uri not registered exactly, or an unknown client, gets an error page and never a redirect', async () => {
    for (const params of [
      { client_id: app.client_id, redirect_uri: `${REDIRECT_URI}/other` },
      { client_id: app.client_id, redirect_uri: `${REDIRECT_URI}?x=1` },
      { client_id: app.client_id, redirect_uri: REDIRECT_URI.replace('http:', 'https:') },
      { client_id: 'no-such-client' },
    ]) {
      const res = await startAuthorize(net.a, params);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toMatch(/Authorization failed/);
    }
  });

  it('a redirect_uri that differs at the token endpoint is refused', async () => {
    const { redirect, verifier } = await practitionerCode();
    const res = await tokenRequest(net.a, { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: `${REDIRECT_URI}/x`, client_id: app.client_id, code_verifier: verifier });
    expect(res.body.error).toBe('invalid_grant');
  });

  it('refresh tokens: bound to their client, and scopes may only narrow', async () => {
    const { redirect, verifier } = await practitionerCode('offline_access user/Patient.rs user/Practitioner.rs');
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    const stolen = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: other.client_id });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    const wider = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: app.client_id, scope: 'offline_access user/Patient.rs user/Practitioner.rs user/Consent.rs' });
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
    const narrower = await tokenRequest(net.a, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: app.client_id, scope: 'user/Patient.rs' });
    expect(narrower.status).toBe(200);
    expect(narrower.body.scope).toBe('user/Patient.rs');
  });

  it('private_key_jwt: a replayed jti, an unknown kid, an assertion valid for an hour, or the wrong aud is refused', async () => {
    const request = (assertion: string) => tokenRequest(net.a, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: ASSERTION, client_assertion: assertion });
    const jti = crypto.randomUUID();
    expect((await request(await clientAssertion(key, backend.client_id, net.a.smart.urls.token, { jti }))).status).toBe(200);
    const replay = await request(await clientAssertion(key, backend.client_id, net.a.smart.urls.token, { jti }));
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
    const unknownKid = await request(await clientAssertion(key, backend.client_id, net.a.smart.urls.token, { kid: 'not-registered' }));
    expect(unknownKid.body.error).toBe('invalid_client');
    const hour = await request(await clientAssertion(key, backend.client_id, net.a.smart.urls.token, { expiresIn: 3600 }));
    expect(hour.body.error).toBe('invalid_client');
    const issuerAud = await request(await clientAssertion(key, backend.client_id, net.a.baseUrl));
    expect(issuerAud.body.error).toBe('invalid_client');
    const stranger = await backendKey('ES384', key.kid);
    const forged = await request(await clientAssertion(stranger, backend.client_id, net.a.smart.urls.token));
    expect(forged.body.error).toBe('invalid_client');
  });

  it('backend tokens need a system/ scope and carry only system/ scopes', async () => {
    const none = await tokenRequest(net.a, { grant_type: 'client_credentials', scope: 'patient/*.rs openid', client_assertion_type: ASSERTION, client_assertion: await clientAssertion(key, backend.client_id, net.a.smart.urls.token) });
    expect(none.status).toBe(400);
    expect(none.body.error).toBe('invalid_scope');
    const mixed = await tokenRequest(net.a, { grant_type: 'client_credentials', scope: 'system/Patient.rs patient/*.rs system/launch', client_assertion_type: ASSERTION, client_assertion: await clientAssertion(key, backend.client_id, net.a.smart.urls.token) });
    expect(mixed.body.scope).toBe('system/Patient.rs'); // system/launch only for EHR clients registered with it
  });

  it('introspection: invalid_token_value is exactly {"active":false}; a live token is active with its context', async () => {
    const res = await introspect(net.a, 'invalid_token_value', asResourceServer());
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"active":false}');
    const forged = await introspect(net.a, `${people.tokens.patient.slice(0, -4)}AAAA`, asResourceServer());
    expect(forged.text).toBe('{"active":false}');
    const live = await introspect(net.a, people.tokens.patient, asResourceServer());
    expect(live.body).toMatchObject({ active: true, sub: 'mara', patient: people.patientId, client_id: 'consentry-cli' });
    const unauthenticated = await fetch(net.a.smart.urls.introspect, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=invalid_token_value' });
    expect(unauthenticated.status).toBe(400);
  });

  it('revoking an access token (RFC 7009) makes it inactive at once: introspection and FHIR', async () => {
    const { redirect, verifier } = await practitionerCode('user/Practitioner.rs');
    const tokens = await exchangeCode(net.a, app.client_id, redirect, verifier);
    expect((await fhir(net.a.baseUrl, tokens.body.access_token, 'GET', 'Practitioner/park')).status).toBe(200);
    const byOther = await fetch(net.a.smart.urls.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: tokens.body.access_token, client_id: other.client_id }) });
    expect(byOther.status).toBe(200);
    expect((await introspect(net.a, tokens.body.access_token, asResourceServer())).body.active).toBe(true);
    const revoke = await fetch(net.a.smart.urls.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: tokens.body.access_token, client_id: app.client_id }) });
    expect(revoke.status).toBe(200);
    expect((await introspect(net.a, tokens.body.access_token, asResourceServer())).text).toBe('{"active":false}');
    const res = await fhir(net.a.baseUrl, tokens.body.access_token, 'GET', 'Practitioner/park');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
    expect((await json(await fetch(net.a.smart.urls.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: 'invalid_token_value', client_id: app.client_id }) }))).error).toBeUndefined();
  });
});
