import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { APP_ORIGIN, backendKey, clientAssertion, json, publicApp, register, REDIRECT_URI, tokenRequest } from './helpers.js';

// this network may fetch a jwks_uri on loopback (the SSRF guard stays on by default)
process.env.SMART_ALLOW_PRIVATE_FETCH = 'true';

describe('SMART discovery and dynamic client registration (registration behind an initial access token)', () => {
  let net: TestNetwork;
  let jwksServer: http.Server;
  let jwksUri: string;
  let served: Awaited<ReturnType<typeof backendKey>>;

  beforeAll(async () => {
    net = await startTestNetwork();
    served = await backendKey('RS384');
    jwksServer = http.createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify(served.jwks)));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    jwksServer?.close();
    await net?.stop();
  });

  it('smart-configuration has every required field and capability, S256 only, open to any origin', async () => {
    const res = await fetch(`${net.a.baseUrl}/.well-known/smart-configuration`, { headers: { origin: 'https://anywhere.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const c = await json(res);
    const auth = `${net.a.baseUrl}/auth`;
    expect(c).toMatchObject({
      issuer: net.a.baseUrl,
      jwks_uri: `${auth}/jwks`,
      authorization_endpoint: `${auth}/authorize`,
      token_endpoint: `${auth}/token`,
      registration_endpoint: `${auth}/register`,
      introspection_endpoint: `${auth}/introspect`,
      revocation_endpoint: `${auth}/revoke`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    });
    expect(c.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(c.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none']));
    expect(c.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS384', 'ES384']));
    expect(c.scopes_supported).toEqual(expect.arrayContaining(['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access']));
    const required = ['launch-ehr', 'launch-standalone', 'authorize-post', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric', 'sso-openid-connect', 'context-banner', 'context-style', 'context-ehr-patient', 'context-standalone-patient', 'permission-offline', 'permission-online', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2'];
    expect(c.capabilities).toEqual(expect.arrayContaining(required));

    const preflight = await fetch(`${net.a.baseUrl}/.well-known/smart-configuration`, { method: 'OPTIONS', headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('OpenID discovery at the issuer, a JWKS with the RS256 id_token key, and the style document', async () => {
    for (const url of [`${net.a.baseUrl}/.well-known/openid-configuration`, `${net.a.url}/.well-known/openid-configuration`]) {
      const res = await fetch(url, { headers: { origin: 'https://anywhere.example' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeTruthy();
      const d = await json(res);
      expect(d).toMatchObject({ issuer: net.a.baseUrl, token_endpoint: `${net.a.baseUrl}/auth/token`, jwks_uri: `${net.a.baseUrl}/auth/jwks`, code_challenge_methods_supported: ['S256'] });
      expect(d.id_token_signing_alg_values_supported).toContain('RS256');
    }
    const jwks = await json(await fetch(`${net.a.baseUrl}/auth/jwks`));
    expect(jwks.keys.map((k: { kty: string; alg: string }) => `${k.kty}/${k.alg}`).sort()).toEqual(['EC/ES256', 'RSA/RS256']);
    expect(jwks.keys.every((k: Record<string, unknown>) => k.d === undefined && k.p === undefined)).toBe(true);
    const style = await fetch(`${net.a.baseUrl}/auth/smart-style.json`);
    expect(style.headers.get('content-type')).toMatch(/application\/json/);
    expect(await style.json()).toMatchObject({ color_background: expect.any(String), font_family_body: expect.any(String) });
  });

  it('the CapabilityStatement names the SMART-on-FHIR service and the OAuth endpoints', async () => {
    const res = await fhir(net.a.baseUrl, undefined, 'GET', 'metadata');
    const security = res.body!.rest[0].security;
    expect(security.service[0].coding[0]).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
    const uris = security.extension.find((e: { url: string }) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    expect(Object.fromEntries(uris.extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]))).toMatchObject({ authorize: `${net.a.baseUrl}/auth/authorize`, token: `${net.a.baseUrl}/auth/token` });
  });

  it('registration without the initial access token is refused; with it a public client is registered', async () => {
    const refused = await fetch(net.a.smart.urls.register, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(publicApp()) });
    expect(refused.status).toBe(401);
    expect(net.a.smart.openRegistration).toBe(false);
    const client = await register(net.a, publicApp());
    expect(client).toMatchObject({ token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT_URI], launch_uri: `${APP_ORIGIN}/launch` });
    expect(client.client_secret).toBeUndefined();
    expect(client.client_id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/); // usable as a ledger grantee id
  });

  it('symmetric clients (client_secret_basic and client_secret_post) get a secret that works at the token endpoint', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const client = await register(net.a, { client_name: `backend ${method}`, token_endpoint_auth_method: method, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'system/Patient.rs' });
      expect(client.client_secret).toEqual(expect.any(String));
      expect(client.scope).toBe('system/Patient.rs');
      const auth: Record<string, string> = method === 'client_secret_basic' ? { authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}` } : {};
      const params: Record<string, string> = method === 'client_secret_post' ? { client_id: client.client_id, client_secret: client.client_secret } : {};
      const token = await tokenRequest(net.a, { grant_type: 'client_credentials', scope: 'system/Patient.rs', ...params }, auth);
      expect(token.status).toBe(200);
      expect(token.body.scope).toBe('system/Patient.rs');
      const wrong = await tokenRequest(net.a, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_id: client.client_id, client_secret: 'not-the-secret' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
  });

  it('asymmetric clients register a jwks or a jwks_uri and authenticate with private_key_jwt', async () => {
    const inline = await backendKey('ES384');
    const byValue = await register(net.a, { client_name: 'backend jwks', token_endpoint_auth_method: 'private_key_jwt', jwks: inline.jwks, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const byUri = await register(net.a, { client_name: 'backend jwks_uri', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    for (const [client, key] of [[byValue, inline], [byUri, served]] as const) {
      const token = await tokenRequest(net.a, {
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await clientAssertion(key, client.client_id, net.a.smart.urls.token),
      });
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      expect(token.body.expires_in).toBeLessThanOrEqual(300);
      expect(token.body.refresh_token).toBeUndefined();
    }
  });

  it('registration refuses broken metadata', async () => {
    const res = await fetch(net.a.smart.urls.register, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${net.a.smart.initialAccessToken}` },
      body: JSON.stringify({ ...publicApp(), redirect_uris: ['http://app.example/cb#fragment'] }),
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_redirect_uri');
  });
});
