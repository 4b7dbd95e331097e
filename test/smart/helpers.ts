import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { SmartServer } from '../../server/smart/index.js';

/** What the helpers need of a hospital node (a HospitalNode, or its public facts when it runs elsewhere). */
export interface SmartTarget {
  url: string;
  baseUrl: string;
  smart: Pick<SmartServer, 'urls' | 'openRegistration' | 'initialAccessToken'>;
}

/** A browser's cookie jar, enough for the authorization pages (one host, paths ignored). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()) || attrs.some((a) => /^\s*max-age=0/i.test(a));
      if (expired || !value) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }
}

/** fetch that never follows redirects and keeps cookies. */
export async function browse(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {}): Promise<Response> {
  const body = init.form ? formBody(init.form) : undefined;
  const res = await fetch(url, {
    method: init.method ?? (body ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: { accept: 'text/html', cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
    body,
  });
  jar.take(res);
  return res;
}

export function formBody(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  return params.toString();
}

export function location(res: Response, base: string): string {
  const loc = res.headers.get('location');
  if (!loc) throw new Error(`expected a redirect, got ${res.status}`);
  return new URL(loc, base).href;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** The values of every input named `name` in a form (checkboxes: `checked` only when asked). */
export function inputs(html: string, name: string, opts: { checkedOnly?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0];
    if (!new RegExp(`\\bname="${name}"`).test(tag)) continue;
    if (opts.checkedOnly && !/\bchecked\b/.test(tag)) continue;
    const value = /\bvalue="([^"]*)"/.exec(tag)?.[1] ?? '';
    out.push(value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
  }
  return out;
}

export function formAction(html: string, base: string): string {
  const action = /<form\b[^>]*\baction="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error('no form on the page');
  return new URL(action.replace(/&amp;/g, '&'), base).href;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export async function json(res: Response): Promise<Json> {
  const text = await res.text();
  try {
    return text ? (JSON.parse(text) as Json) : {};
  } catch {
    return { text };
  }
}

/** Dynamic client registration (RFC 7591), with the node's initial access token unless registration is open. */
export async function register(node: SmartTarget, metadata: Record<string, unknown>, opts: { token?: string | null } = {}): Promise<Json> {
  const token = opts.token === null ? undefined : (opts.token ?? (node.smart.openRegistration ? undefined : node.smart.initialAccessToken));
  const res = await fetch(node.smart.urls.register, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(metadata),
  });
  const body = await json(res);
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export const APP_ORIGIN = 'http://app.example:9000';
export const REDIRECT_URI = `${APP_ORIGIN}/callback`;

export function publicApp(name = 'Test patient app') {
  return { client_name: name, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], launch_uri: `${APP_ORIGIN}/launch` };
}

/** A backend service key pair (ES384 or RS384) and its public JWKS. */
export async function backendKey(alg: 'ES384' | 'RS384' = 'ES384', kid = `key-${crypto.randomUUID()}`): Promise<{ alg: string; kid: string; privateKey: CryptoKey; jwks: { keys: JWK[] } }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] } };
}

export async function clientAssertion(key: { alg: string; kid: string; privateKey: CryptoKey }, clientId: string, aud: string, opts: { expiresIn?: number; jti?: string; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 240))
    .setJti(opts.jti ?? crypto.randomUUID())
    .sign(key.privateKey);
}

export async function tokenRequest(node: SmartTarget, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(node.smart.urls.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers }, body: formBody(params) });
  return { status: res.status, body: await json(res), headers: res.headers };
}

export interface AuthorizeOptions {
  clientId: string;
  scope: string;
  username: string;
  password: string;
  /** what to do on the consent screen (default: approve everything offered) */
  consent?: (page: { html: string; scopes: string[]; categories: string[] }) => Record<string, string | string[]>;
  aud?: string;
  launch?: string;
  state?: string;
  redirectUri?: string;
  /** the browser's cookies (default: a fresh browser) */
  jar?: CookieJar;
}

/** The authorization-code flow driven like a browser without JavaScript: authorize → login → consent → redirect. */
export async function authorize(node: SmartTarget, o: AuthorizeOptions): Promise<{ redirect: URL; verifier: string; consentPage: string; jar: CookieJar }> {
  const jar = o.jar ?? new CookieJar();
  const { verifier, challenge } = pkce();
  const state = o.state ?? crypto.randomBytes(12).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri ?? REDIRECT_URI,
    scope: o.scope,
    state,
    aud: o.aud ?? node.baseUrl,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(o.launch ? { launch: o.launch } : {}),
  });
  let res = await browse(jar, `${node.smart.urls.authorize}?${query}`);
  let url = location(res, node.url);
  let consentPage = '';
  for (let step = 0; step < 10; step++) {
    if (url.startsWith(o.redirectUri ?? REDIRECT_URI)) return { redirect: new URL(url), verifier, consentPage, jar };
    res = await browse(jar, url);
    if (res.status === 303 || res.status === 302) {
      url = location(res, node.url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`authorization page ${url} answered ${res.status}: ${html.slice(0, 300)}`);
    const action = formAction(html, node.url);
    if (html.includes('name="password"')) {
      res = await browse(jar, action, { form: { username: o.username, password: o.password } });
    } else {
      consentPage = html;
      const scopes = inputs(html, 'scope', { checkedOnly: true });
      const categories = inputs(html, 'category', { checkedOnly: true });
      const form = o.consent ? o.consent({ html, scopes, categories }) : { scope: scopes, category: categories, decision: 'approve' };
      res = await browse(jar, action, { form });
    }
    if (res.status !== 303 && res.status !== 302) throw new Error(`form ${action} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    url = location(res, node.url);
  }
  throw new Error('the authorization flow did not reach the redirect URI');
}

export async function exchangeCode(node: SmartTarget, clientId: string, redirect: URL, verifier: string, extra: Record<string, string> = {}) {
  return tokenRequest(node, { grant_type: 'authorization_code', code: redirect.searchParams.get('code') ?? '', redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier, ...extra });
}

/** The first leg only: GET the authorization endpoint with these parameters (PKCE S256 unless overridden). */
export async function startAuthorize(node: SmartTarget, params: Record<string, string | undefined>): Promise<Response> {
  const { challenge } = pkce();
  const query = new URLSearchParams();
  const all: Record<string, string | undefined> = { response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid patient/*.rs', state: 'st-1', aud: node.baseUrl, code_challenge: challenge, code_challenge_method: 'S256', ...params };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) query.set(k, v);
  return fetch(`${node.smart.urls.authorize}?${query}`, { redirect: 'manual', headers: { accept: 'text/html' } });
}

export async function introspect(node: SmartTarget, token: string, client: { client_id: string; client_secret?: string }): Promise<{ status: number; text: string; body: Json }> {
  const res = await fetch(node.smart.urls.introspect, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: formBody({ token, ...client } as Record<string, string>) });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as Json) : {} };
}
