/* global document, window, sessionStorage, crypto, fetch, URLSearchParams, TextEncoder, btoa, Blob, FileReader */
// Shared by the three portals: the SMART client (authorization code + PKCE S256, public client), the FHIR
// calls (every one shows the ledger height it was answered at), form errors and small DOM helpers.
import { describeScope, parseScopes, allows } from '/portal/lib/scopes.js';

export const config = JSON.parse(document.getElementById('config').textContent);
const KEY = `consentry-portal-${config.kind}`;

/** Creates an element: el('a', { href: '#' }, 'text', child…). `on*` attributes become listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof window.Node ? c : String(c));
  return node;
}

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

let discovery;
async function smartConfiguration() {
  discovery ??= await (await fetch(`${config.fhirBase}/.well-known/smart-configuration`)).json();
  return discovery;
}

/** Sends the browser to the hospital's authorization endpoint (its login and consent pages). */
export async function signIn() {
  const smart = await smartConfiguration();
  const verifier = random(32);
  const state = random(16);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(`${KEY}-pkce`, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scope,
    state,
    aud: config.fhirBase,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  window.location.assign(`${smart.authorization_endpoint}?${params}`);
}

/** The session: from the authorization response in the URL (code → token), or kept in this tab. */
export async function session() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('code');
  const error = url.searchParams.get('error');
  if (code || error) {
    const pkce = JSON.parse(sessionStorage.getItem(`${KEY}-pkce`) ?? 'null');
    sessionStorage.removeItem(`${KEY}-pkce`);
    window.history.replaceState(null, '', config.redirectUri);
    if (error) throw new Error(`The sign-in was not completed: ${url.searchParams.get('error_description') ?? error}`);
    if (!pkce || pkce.state !== url.searchParams.get('state')) throw new Error('The sign-in answer does not belong to this tab; sign in again.');
    const smart = await smartConfiguration();
    const res = await fetch(smart.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: config.redirectUri, client_id: config.clientId, code_verifier: pkce.verifier }),
    });
    const token = await res.json();
    if (!res.ok) throw new Error(`The hospital refused the sign-in: ${token.error_description ?? token.error}`);
    const s = { accessToken: token.access_token, scope: token.scope ?? '', patient: token.patient, fhirUser: token.fhirUser, expiresAt: Date.now() + token.expires_in * 1000 };
    sessionStorage.setItem(KEY, JSON.stringify(s));
    return withScopes(s);
  }
  const kept = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  if (kept && kept.expiresAt > Date.now() + 5000) return withScopes(kept);
  sessionStorage.removeItem(KEY);
  return undefined;
}

function withScopes(s) {
  // the same parser the server enforces with decides what the page offers
  const parsed = parseScopes(s.scope);
  return { ...s, parsed, may: (resourceType, interaction) => allows(parsed, { resourceType, interaction }), described: parsed.map(describeScope) };
}

export async function signOut(s) {
  sessionStorage.removeItem(KEY);
  if (s) {
    const smart = await smartConfiguration();
    await fetch(smart.revocation_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: s.accessToken, client_id: config.clientId }) }).catch(() => undefined);
  }
  window.location.assign(config.redirectUri);
}

export class FhirFailure extends Error {
  constructor(status, message, outcome) {
    super(message);
    this.status = status;
    this.outcome = outcome;
  }
}

let current;
export function useSession(s) {
  current = s;
}

/** The ledger height the page's data was read at: the highest X-Ledger-Height seen. */
let height = -1;
function noteHeight(res) {
  const h = Number(res.headers.get('x-ledger-height'));
  if (!Number.isFinite(h) || h < height) return;
  height = h;
  for (const node of document.querySelectorAll('[data-ledger-height]')) node.textContent = `Data read at ledger height ${h}`;
}
export const ledgerHeight = () => height;

/** A FHIR interaction on this hospital's API: JSON in, JSON out; an OperationOutcome becomes a FhirFailure. */
export async function fhir(path, { method = 'GET', body, raw = false, headers = {} } = {}) {
  const res = await fetch(`${config.fhirBase}/${path}`, {
    method,
    headers: {
      accept: 'application/fhir+json',
      authorization: `Bearer ${current.accessToken}`,
      ...(body !== undefined && !(body instanceof Blob) ? { 'content-type': 'application/fhir+json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
  });
  noteHeight(res);
  if (raw && res.ok) return res;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const message = json?.issue?.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ') || `HTTP ${res.status}`;
    throw new FhirFailure(res.status, message, json);
  }
  return json;
}

/** Every resource of a search (following `next` links up to a bound). */
export async function searchAll(query, max = 1000) {
  const out = [];
  let bundle = await fhir(query);
  for (;;) {
    for (const e of bundle.entry ?? []) if (e.resource && e.search?.mode !== 'outcome') out.push(e.resource);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next || out.length >= max) return out;
    bundle = await fhir(next.slice(config.fhirBase.length + 1));
  }
}

/**
 * Whether this server has a FHIR operation, by a probe with bad input that changes nothing: 404/405 "no FHIR
 * interaction" means it is not there. Also answers what the server said (a 403 tells who may not use it).
 */
export async function probeOperation(path) {
  try {
    await fhir(path, { method: 'POST', body: { resourceType: 'Parameters' } });
    return { available: true, status: 200 };
  } catch (err) {
    if (!(err instanceof FhirFailure)) throw err;
    const missing = (err.status === 404 || err.status === 405) && /no FHIR interaction/.test(err.message);
    return { available: !missing, status: err.status, message: err.message };
  }
}
export const hasOperation = async (path) => (await probeOperation(path)).available;

/** LOINC document types the portals offer and name (the ledger keeps the type, not a title). */
export const DOCUMENT_TYPES = {
  '34117-2': 'History and physical note',
  '11502-2': 'Laboratory report',
  '73569-6': 'Radiation dose report',
  '18748-4': 'Diagnostic imaging study',
  '18776-5': 'Plan of care note',
  '34133-9': 'Summary of episode note',
  '51855-5': 'Patient note',
};
export const documentTitle = (d) => {
  const code = d.type?.coding?.[0]?.code;
  return d.content?.[0]?.attachment?.title ?? DOCUMENT_TYPES[code] ?? d.type?.coding?.[0]?.display ?? code ?? d.id;
};
export const categoryName = (code) => config.categories.find((c) => c.code === code)?.display ?? code;
export const categoryOf = (resource) => (resource.category ?? []).flatMap((c) => c.coding ?? []).find((c) => c.system === config.categorySystem)?.code;
export const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC' : '—');
export const fmtDay = (iso) => (iso ? new Date(iso).toISOString().slice(0, 10) : '—');
export const hospitalOfUrl = (url) => Object.entries(config.hospitals).find(([, base]) => url.startsWith(`${base}/`))?.[0];

/** A status line: role=status for success, role=alert for errors. */
export function say(node, message, kind = 'ok') {
  node.className = `status ${kind}`;
  node.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  node.textContent = message;
}

/**
 * A form's submission: `send()` does the request and returns what `done` turns into the success message; on
 * success the form is reset and the page's data reloaded; a failure is said in the status line (and handed to
 * `failed`, e.g. to mark a field).
 */
export async function submitForm(form, status, { send, done, reload, failed }) {
  try {
    const result = await send();
    form.reset();
    say(status, typeof done === 'function' ? done(result) : done);
    await reload();
  } catch (err) {
    failed?.(err);
    say(status, err.message, 'error');
  }
}

/** Field errors shown next to the field (`<p id="<field>-error">`), tied to it with aria-describedby. */
export function fieldError(form, name, message) {
  const field = form.querySelector(`#${form.id}-${name}`);
  const slot = form.querySelector(`#${form.id}-${name}-error`);
  slot.textContent = message ?? '';
  if (field) {
    if (message) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }
}
export function clearErrors(form) {
  for (const slot of form.querySelectorAll('.field-error')) slot.textContent = '';
  for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
}

/** A labelled control with its error slot: ids `<form>-<name>` and `<form>-<name>-error`. */
export function field(formId, name, label, control, hint) {
  control.id = `${formId}-${name}`;
  control.name ??= name;
  if (!control.getAttribute('name')) control.setAttribute('name', name);
  control.setAttribute('aria-describedby', `${formId}-${name}-error`);
  return el('div', {}, el('label', { for: control.id }, label), hint ? el('p', { class: 'muted' }, hint) : null, control, el('p', { class: 'field-error', id: `${formId}-${name}-error`, 'aria-live': 'polite' }));
}

/** A fieldset of checkboxes with one error slot, `<form>-<name>-error`. */
export function checkboxes(formId, name, legend, options) {
  return el(
    'fieldset',
    { id: `${formId}-${name}`, 'aria-describedby': `${formId}-${name}-error` },
    el('legend', {}, legend),
    options.map((o, i) => el('label', { for: `${formId}-${name}-${i}` }, el('input', { type: 'checkbox', id: `${formId}-${name}-${i}`, name, value: o.value, checked: o.checked }), o.label)),
    el('p', { class: 'field-error', id: `${formId}-${name}-error`, 'aria-live': 'polite' }),
  );
}
export const checked = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

/** YYYY-MM-DD that is a real calendar day, else undefined. */
export function parseDay(value) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value ?? '')) return undefined;
  const d = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value ? undefined : d;
}

/** Fetches a Binary with the token and offers it as a file or shows it in `target`. */
export async function openBinary(reference, { download, target, filename }) {
  // an absolute url (a document of another hospital's patient) is read through this hospital's own API
  const id = /(?:^|\/)Binary\/([^/?#]+)$/.exec(reference ?? '')?.[1];
  if (!id) throw new Error('this document has no content to open');
  const res = await fhir(`Binary/${id}`, { raw: true, headers: { accept: '*/*' } });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  if (download) {
    const a = el('a', { href: url, download: filename ?? 'document' });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return blob;
  }
  target.replaceChildren();
  if (/^text\/|json/.test(blob.type)) target.append(el('pre', { class: 'preview', tabindex: '0' }, await blob.text()));
  else target.append(el('iframe', { class: 'preview', src: url, title: filename ?? 'document' }));
  return blob;
}

/** Base64 of a string's UTF-8 bytes (inline attachment data). */
export const utf8Base64 = (text) => b64std(new TextEncoder().encode(text));
const b64std = (bytes) => {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
};

export const fileAsBase64 = (file) =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

/** The page frame once signed in: title, who, the ledger height, the granted scopes, sign out. */
export function frame(s, title, who, sections) {
  const header = el(
    'header',
    { class: 'top' },
    el('h1', {}, title),
    el('span', { class: 'who', id: 'who' }, who),
    el('span', { class: 'height', 'data-ledger-height': true, id: 'ledger-height' }, 'Data read at ledger height …'),
    el('button', { type: 'button', id: 'sign-out', onclick: () => signOut(s) }, 'Sign out'),
  );
  const nav = el('nav', { class: 'sections', 'aria-label': 'Sections' }, sections.map(([id, label]) => el('a', { href: `#${id}` }, label)));
  const main = el('main', { id: 'main' });
  const scopes = el('details', { class: 'muted' }, el('summary', {}, 'What this portal may do (granted scopes)'), el('ul', {}, s.described.map((d) => el('li', {}, d))));
  document.body.replaceChildren(header, nav, main);
  main.append(scopes);
  return main;
}

/** The first page before sign-in; marks the document usable once the button works. */
export function signInPage(title, intro, error) {
  const button = el('button', { type: 'button', id: 'sign-in', onclick: () => signIn().catch((e) => say(status, e.message, 'error')) }, 'Sign in with your hospital account');
  const status = el('p', { class: 'status', id: 'status' });
  document.body.replaceChildren(el('main', { class: 'signin' }, el('section', {}, el('h1', {}, title), el('p', {}, intro), el('p', { class: 'muted' }, `Hospital: ${config.mspId} — ${config.fhirBase}`), button, status)));
  if (error) say(status, error, 'error');
  ready();
}

/** `data-state="ready"` on <body>: the page is usable (tests and the first-page timing wait for it). */
export function ready() {
  document.body.dataset.state = 'ready';
  document.body.dataset.readyMs = String(Math.round(performance.now()));
}

export function loading() {
  document.body.dataset.state = 'loading';
}

/** Signs in or shows the portal: `render(session)` once a token is at hand. */
export async function boot(title, intro, render) {
  let s;
  try {
    s = await session();
  } catch (err) {
    return signInPage(title, intro, err.message);
  }
  if (!s) return signInPage(title, intro);
  useSession(s);
  loading();
  try {
    await render(s);
    ready();
  } catch (err) {
    if (err instanceof FhirFailure && err.status === 401) {
      sessionStorage.removeItem(KEY);
      return signInPage(title, intro, 'Your session ended; sign in again.');
    }
    document.body.append(el('p', { class: 'status error', role: 'alert' }, `Something went wrong: ${err.message}`));
    document.body.dataset.state = 'error';
  }
}
