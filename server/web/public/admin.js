/* global document, fetch */
// The admin portal: the users of my hospital, enrollment (with the NPI check and the directory's answer), revoking
// a user's identity, registering SMART apps, and the ledger's status.
import { boot, clearErrors, config, el, fhir, FhirFailure, field, fieldError, fmtDate, frame, ledgerHeight, parseDay, probeOperation, say, searchAll, submitForm } from './common.js';

const TITLE = 'Admin portal';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

boot(TITLE, 'Enroll and revoke the users of this hospital, register apps, and watch the ledger.', render);

async function render(s) {
  const main = frame(s, TITLE, `${config.mspId} administrator`, [['users', 'Users'], ['enroll', 'Enroll'], ['apps', 'Register an app'], ['ledger', 'Ledger']]);
  const users = section(main, 'users', 'Users of this hospital');
  const enroll = section(main, 'enroll', 'Enroll a patient or practitioner');
  const apps = section(main, 'apps', 'Register a SMART app');
  const ledger = section(main, 'ledger', 'Ledger status');
  const [revokeOp, enrollOp] = await Promise.all([probeOperation('Patient/probe/$revoke-identity'), probeOperation('Patient/$enroll')]);
  const loadUsers = () => renderUsers(users, revokeOp.available, loadUsers);
  await Promise.all([loadUsers(), renderLedger(ledger)]);
  enrollForm(enroll, enrollOp.available, loadUsers);
  appForm(apps);
}

function section(main, id, title) {
  const body = el('div', { id: `${id}-body` });
  main.append(el('section', { id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), body));
  return body;
}

const nameOf = (r) => {
  const n = r.name?.[0];
  return n ? `${n.prefix?.join(' ') ?? ''} ${n.given?.join(' ') ?? ''} ${n.family ?? ''}`.replace(/\s+/g, ' ').trim() : r.id;
};

async function renderUsers(slot, canRevoke, reload) {
  const [patients, practitioners] = await Promise.all([searchAll('Patient?_count=100'), searchAll('Practitioner?_count=100')]);
  const status = el('p', { class: 'status', id: 'users-status' });
  const rows = [...practitioners.map((r) => ['Practitioner', r]), ...patients.filter((p) => !p.managingOrganization || p.managingOrganization.identifier?.value === config.mspId).map((r) => ['Patient', r])].map(([type, r]) => {
    const npi = r.identifier?.find((i) => i.system === NPI_SYSTEM)?.value;
    const active = r.active !== false;
    return el(
      'tr',
      { dataset: { ref: `${type}/${r.id}`, active: String(active) } },
      el('td', {}, nameOf(r)),
      el('td', {}, type),
      el('td', {}, `${type}/${r.id}`),
      el('td', {}, npi ?? (r.birthDate ? `born ${r.birthDate}` : '')),
      el('td', {}, active ? 'active' : 'revoked'),
      el('td', {}, canRevoke && active ? el('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${nameOf(r)}`, onclick: () => revoke(type, r, status, reload) }, 'Revoke') : null),
    );
  });
  slot.replaceChildren(
    el('div', { class: 'table-wrap' }, el('table', { id: 'users-table' }, el('thead', {}, el('tr', {}, ['Name', 'Kind', 'Resource', 'NPI / birth date', 'Status', ''].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, rows))),
    canRevoke ? '' : el('p', { class: 'muted', id: 'revoke-unavailable' }, 'This hospital’s server does not offer revoking identities ($revoke-identity) yet.'),
    status,
  );
}

async function revoke(type, r, status, reload) {
  if (!document.defaultView.confirm(`Revoke the identity of ${nameOf(r)}? They can no longer sign in or sign ledger transactions.`)) return;
  try {
    await fhir(`${type}/${r.id}/$revoke-identity`, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'revoked in the admin portal' }] } });
    await reload();
    say(document.getElementById('users-status'), `${nameOf(r)} is revoked.`);
  } catch (err) {
    say(status, err.message, 'error');
  }
}

/** The NPI check digit (Luhn over "80840" + the first nine digits), as CMS defines it. */
export function npiCheckDigitValid(npi) {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i];
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(npi[9]);
}

function enrollForm(slot, available, reload) {
  const id = 'enroll-form';
  const status = el('p', { class: 'status', id: 'enroll-status' });
  const npiCheck = el('p', { id: 'npi-check', 'aria-live': 'polite', class: 'muted' });
  const kind = el('select', {}, el('option', { value: 'patient' }, 'Patient'), el('option', { value: 'practitioner' }, 'Practitioner'));
  const patientOnly = el('div', {}, field(id, 'birthDate', 'Birth date', el('input', { type: 'date' })), field(id, 'postalCode', 'Postal code', el('input', { type: 'text', maxlength: 12 })));
  const npi = el('input', { type: 'text', inputmode: 'numeric', maxlength: 10 });
  const practitionerOnly = el('div', { hidden: true }, field(id, 'npi', 'NPI (10 digits)', npi), npiCheck, el('label', {}, el('input', { type: 'checkbox', name: 'emergency', id: `${id}-emergency` }), ' may use emergency access (break-glass)'));
  const sync = () => {
    patientOnly.hidden = kind.value !== 'patient';
    practitionerOnly.hidden = kind.value !== 'practitioner';
    if (!npi.value) npiCheck.textContent = '';
  };
  kind.addEventListener('change', sync);
  npi.addEventListener('input', () => {
    npiCheck.textContent = npi.value.length === 10 ? (npiCheckDigitValid(npi.value) ? 'NPI check digit: valid.' : 'NPI check digit: not valid.') : '';
  });
  const form = el(
    'form',
    { id, novalidate: true },
    field(id, 'kind', 'Kind of user', kind),
    field(id, 'given', 'Given name', el('input', { type: 'text', maxlength: 100 })),
    field(id, 'family', 'Family name', el('input', { type: 'text', maxlength: 100 })),
    patientOnly,
    practitionerOnly,
    field(id, 'username', 'Username', el('input', { type: 'text', maxlength: 64, autocomplete: 'off' })),
    field(id, 'password', 'First password (at least 8 characters)', el('input', { type: 'password', autocomplete: 'new-password' })),
    el('button', { type: 'submit', disabled: !available }, 'Enroll'),
    available ? null : el('p', { class: 'muted', id: 'enroll-unavailable' }, 'This hospital’s server does not offer enrollment ($enroll) yet.'),
    status,
  );
  // after a reset the form shows the fields of the kind it was reset to
  form.addEventListener('reset', () => document.defaultView.setTimeout(sync));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = (n) => form.elements[n].value.trim();
    const errors = {};
    if (!v('given')) errors.given = 'Enter the given name.';
    if (!v('family')) errors.family = 'Enter the family name.';
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(v('username'))) errors.username = 'Letters, digits and . _ @ - only.';
    if (form.elements.password.value.length < 8) errors.password = 'At least 8 characters.';
    if (kind.value === 'patient') {
      const born = parseDay(v('birthDate'));
      if (!born) errors.birthDate = 'Enter a valid date (YYYY-MM-DD).';
      else if (born.getTime() > Date.now()) errors.birthDate = 'The birth date is in the future.';
      if (!v('postalCode')) errors.postalCode = 'Enter the postal code.';
    } else if (!npiCheckDigitValid(v('npi'))) errors.npi = 'Not a valid NPI: 10 digits with a correct check digit.';
    for (const [name, message] of Object.entries(errors)) fieldError(form, name, message);
    if (Object.keys(errors).length) return;
    const parameter = [
      { name: 'given', valueString: v('given') },
      { name: 'family', valueString: v('family') },
      { name: 'username', valueString: v('username') },
      { name: 'password', valueString: form.elements.password.value },
      ...(kind.value === 'patient'
        ? [{ name: 'birthDate', valueString: v('birthDate') }, { name: 'postalCode', valueString: v('postalCode') }]
        : [{ name: 'npi', valueString: v('npi') }, { name: 'emergency', valueBoolean: form.elements.emergency.checked }]),
    ];
    const practitioner = kind.value === 'practitioner';
    await submitForm(form, status, {
      send: () => fhir(`${practitioner ? 'Practitioner' : 'Patient'}/$enroll`, { method: 'POST', body: { resourceType: 'Parameters', parameter } }),
      done: (created) => `Enrolled ${nameOf(created)} as ${created.resourceType}/${created.id}${practitioner ? ' — the NPI is in the practitioner directory' : ''}.`,
      reload,
      // the directory's answer (e.g. "NPI not listed") comes back as the OperationOutcome
      failed: (err) => err instanceof FhirFailure && /npi/i.test(err.message) && fieldError(form, 'npi', err.message),
    });
  });
  slot.replaceChildren(form);
}

function appForm(slot) {
  const id = 'app-form';
  const status = el('p', { class: 'status', id: 'app-status' });
  const form = el(
    'form',
    { id, novalidate: true },
    field(id, 'name', 'App name', el('input', { type: 'text', maxlength: 100 })),
    field(id, 'redirect', 'Redirect URI', el('input', { type: 'url' })),
    field(id, 'launch', 'Launch URI (for launching from the EHR; optional)', el('input', { type: 'url' })),
    field(id, 'token', 'Initial access token (only when registration is closed)', el('input', { type: 'password', autocomplete: 'off' })),
    el('button', { type: 'submit' }, 'Register app'),
    status,
  );
  const isUrl = (u) => {
    try {
      return ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const name = form.elements.name.value.trim();
    const redirect = form.elements.redirect.value.trim();
    const launch = form.elements.launch.value.trim();
    const errors = {};
    if (!name) errors.name = 'Give the app a name.';
    if (!isUrl(redirect)) errors.redirect = 'Enter an http(s) URL.';
    if (launch && !isUrl(launch)) errors.launch = 'Enter an http(s) URL, or leave it empty.';
    for (const [n, m] of Object.entries(errors)) fieldError(form, n, m);
    if (Object.keys(errors).length) return;
    const smart = await (await fetch(`${config.fhirBase}/.well-known/smart-configuration`)).json();
    const token = form.elements.token.value.trim();
    const res = await fetch(smart.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ client_name: name, redirect_uris: [redirect], ...(launch ? { launch_uri: launch } : {}), token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status !== 201) return say(status, `Registration refused: ${body.error_description ?? body.error ?? res.status}`, 'error');
    form.reset();
    say(status, `Registered “${body.client_name}”: client id ${body.client_id}`);
    status.dataset.clientId = body.client_id;
  });
  slot.replaceChildren(form);
}

async function renderLedger(slot, verify = false) {
  let status;
  try {
    status = await fhir(`$ledger-status${verify ? '?verify=true' : ''}`);
  } catch (err) {
    if (!(err instanceof FhirFailure) || err.status !== 404) throw err;
  }
  const param = (n) => status?.parameter?.find((p) => p.name === n);
  const dl = el('dl', { id: 'ledger-facts' });
  const add = (k, v, id) => dl.append(el('dt', {}, k), el('dd', { id }, v));
  add('Height this page was read at (X-Ledger-Height)', String(ledgerHeight()));
  if (!status) return slot.replaceChildren(dl, el('p', { class: 'muted' }, 'This node has no $ledger-status operation.'));
  add('Ledger height (the peer’s chain)', String(param('height')?.valueInteger ?? '—'), 'ledger-chain-height');
  add('Replica height (this hospital’s copy)', String(param('replicaHeight')?.valueInteger ?? '—'), 'ledger-replica-height');
  const verified = param('verified');
  const verification = verified ? `${verified.valueBoolean ? 'passes' : 'FAILS'}: ${param('verification')?.valueString ?? ''} (${param('verifyMs')?.valueInteger ?? '?'} ms)` : (param('verification')?.valueString ?? 'not run yet');
  add('ledger:verify', verification, 'ledger-verification');
  const blocks = (status.parameter ?? []).filter((p) => p.name === 'block');
  const part = (b, n) => b.part?.find((p) => p.name === n);
  const table = el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { id: 'blocks-table' },
      el('thead', {}, el('tr', {}, ['Block', 'Transactions', 'Events', 'Committed'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, blocks.map((b) => el('tr', {}, el('td', {}, String(part(b, 'number')?.valueInteger)), el('td', {}, String(part(b, 'transactions')?.valueInteger ?? '')), el('td', {}, String(part(b, 'events')?.valueInteger ?? '')), el('td', {}, fmtDate(part(b, 'time')?.valueInstant))))),
    ),
  );
  const button = el('button', { type: 'button', class: 'secondary', id: 'verify-ledger', onclick: async () => {
    button.disabled = true;
    button.textContent = 'Verifying…';
    await renderLedger(slot, true).catch((err) => slot.append(el('p', { class: 'status error', role: 'alert' }, err.message)));
  } }, 'Verify the ledger now');
  slot.replaceChildren(dl, button, el('h3', {}, 'Latest blocks with Consentry transactions'), table);
}
