/* global document */
// The patient portal: my documents, a private note, my permissions (add, edit, revoke), my history, the apps
// I authorized, erasure. Only the public FHIR API, with the token of this portal's SMART authorization.
import { boot, documentTitle, frame, utf8Base64, categoryName, categoryOf, checkboxes, checked, clearErrors, config, el, fhir, field, fieldError, fmtDate, fmtDay, hasOperation, hospitalOfUrl, openBinary, parseDay, say, searchAll, submitForm } from './common.js';

const TITLE = 'Patient portal';
const ACTIONS = { access: 'read', correct: 'write', disclose: 'share' };
const DAY = 86_400_000;
const ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
let refreshAll = async () => undefined;
let ownRef = '';

boot(TITLE, 'See your records, decide who may read or add to them and for how long, and see every access.', render);

async function render(s) {
  const patientId = s.patient ?? String(s.fhirUser ?? '').split('Patient/')[1];
  const [me, practitioners] = await Promise.all([fhir(`Patient/${patientId}`), searchAll('Practitioner?_count=100').catch(() => [])]);
  const name = (me.name?.[0] ? `${me.name[0].given?.join(' ') ?? ''} ${me.name[0].family ?? ''}` : patientId).trim();
  const main = frame(s, TITLE, `${name} · ${config.mspId}`, [['documents', 'Documents'], ['note', 'Private note'], ['permissions', 'Permissions'], ['apps', 'Apps'], ['history', 'History'], ['erase', 'Erase']]);
  const names = new Map(practitioners.map((p) => [`Practitioner/${p.id}`, practitionerName(p)]));
  names.set(`Patient/${patientId}`, 'You');
  ownRef = `Patient/${patientId}`;
  const who = (ref) => {
    if (!ref) return '—';
    if (names.has(ref)) return names.get(ref);
    // a practitioner of another hospital: this hospital has no Practitioner resource to name them by
    const other = /^(https?:.*)\/Practitioner\/([^/]+)$/.exec(ref);
    if (other) return `Practitioner ${other[2]} of ${hospitalOfUrl(ref) ?? new URL(ref).host}`;
    return ref;
  };

  const docs = section(main, 'documents', 'My documents');
  const note = section(main, 'note', 'Add a private note');
  const perms = section(main, 'permissions', 'My permissions');
  const apps = section(main, 'apps', 'Apps I authorized');
  const history = section(main, 'history', 'History of my data');
  const erase = section(main, 'erase', 'Erase my data');

  const refresh = async () => {
    const [documents, consents, events] = await Promise.all([
      searchAll(`DocumentReference?patient=${patientId}&_sort=-date&_count=100`),
      searchAll(`Consent?patient=${patientId}&_count=100`),
      searchAll(`AuditEvent?patient=${patientId}&_sort=-date&_count=200`, 400),
    ]);
    renderDocuments(docs, documents, who);
    renderPermissions(perms, consents.filter((c) => !actorOf(c).startsWith('Device/')), who, edit);
    renderApps(apps, consents.filter((c) => actorOf(c).startsWith('Device/')), refresh);
    renderHistory(history, events, who);
  };
  refreshAll = refresh;
  const edit = (consent) => permissionForm(formSlot, patientId, practitioners, refresh, consent);
  const formSlot = el('div', { id: 'permission-form-slot' });
  perms.after(el('section', { 'aria-label': 'Grant or change a permission' }, formSlot));
  permissionForm(formSlot, patientId, practitioners, refresh);
  noteForm(note, patientId, refresh);
  await Promise.all([refresh(), eraseSection(erase, patientId)]);
}

function section(main, id, title) {
  const body = el('div', { id: `${id}-body` });
  main.append(el('section', { id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), body));
  return body;
}

function practitionerName(p) {
  const n = p.name?.[0];
  return n ? `${n.prefix?.join(' ') ?? ''} ${n.given?.join(' ') ?? ''} ${n.family ?? ''}`.replace(/\s+/g, ' ').trim() : `Practitioner/${p.id}`;
}

const actorOf = (c) => c.provision?.actor?.[0]?.reference?.reference ?? '';
const hospitalOf = (ref) => (/^https?:/.test(ref ?? '') ? (hospitalOfUrl(ref) ?? new URL(ref).host) : config.mspId);

function renderDocuments(slot, documents, who) {
  const preview = el('div', { id: 'document-preview', 'aria-live': 'polite' });
  const status = el('p', { class: 'status', id: 'documents-status' });
  if (!documents.length) return slot.replaceChildren(el('p', {}, 'No documents yet.'));
  const byCategory = new Map();
  for (const d of documents) {
    const c = categoryOf(d) ?? 'other';
    if (!byCategory.has(c)) byCategory.set(c, []);
    byCategory.get(c).push(d);
  }
  const tables = [...byCategory].map(([category, list]) =>
    el(
      'div',
      { class: 'table-wrap', dataset: { category } },
      el('h3', {}, categoryName(category)),
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ['Document', 'Author', 'Hospital', 'Date', ''].map((h) => el('th', { scope: 'col' }, h)))),
        el(
          'tbody',
          {},
          list.map((d) => {
            const att = d.content?.[0]?.attachment ?? {};
            const title = documentTitle(d);
            const author = d.author?.[0]?.reference;
            const open = (download) => openBinary(att.url, { download, target: preview, filename: title }).then(() => say(status, download ? `Downloaded “${title}”.` : `Showing “${title}”.`)).catch((e) => say(status, e.message, 'error'));
            return el(
              'tr',
              { dataset: { id: d.id, category } },
              el('td', {}, title),
              el('td', {}, who(author)),
              el('td', {}, hospitalOf(author)),
              el('td', {}, fmtDate(d.date)),
              el('td', {}, el('button', { type: 'button', class: 'small secondary', onclick: () => open(false), 'aria-label': `View ${title}` }, 'View'), el('button', { type: 'button', class: 'small', onclick: () => open(true), 'aria-label': `Download ${title}` }, 'Download')),
            );
          }),
        ),
      ),
    ),
  );
  slot.replaceChildren(el('p', { class: 'muted' }, `${documents.length} documents.`), ...tables, status, preview);
}

function noteForm(slot, patientId, refresh) {
  const id = 'note-form';
  const status = el('p', { class: 'status' });
  const form = el(
    'form',
    { id, novalidate: true },
    field(id, 'text', 'Note (only you can read it)', el('textarea', { maxlength: 100000 })),
    el('button', { type: 'submit' }, 'Save private note'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const text = form.elements.text.value;
    if (!text.trim()) return fieldError(form, 'text', 'The note is empty.');
    const body = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '51855-5' }] },
      category: [{ coding: [{ system: config.categorySystem, code: 'patient-private' }] }],
      subject: { reference: `Patient/${patientId}` },
      content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: utf8Base64(text) } }],
    };
    await submitForm(form, status, {
      send: () => fhir('DocumentReference', { method: 'POST', body }),
      done: 'Your note is saved; its record is on the ledger.',
      reload: refresh,
    });
  });
  slot.replaceChildren(form);
}

function renderPermissions(slot, consents, who, edit) {
  const status = el('p', { class: 'status', id: 'permissions-status' });
  if (!consents.length) return slot.replaceChildren(el('p', {}, 'You have not given anyone access.'), status);
  const rows = consents
    .sort((a, b) => (b.provision?.period?.start ?? '').localeCompare(a.provision?.period?.start ?? ''))
    .map((c) => {
      const actor = actorOf(c);
      const categories = (c.provision?.code ?? []).map((cc) => cc.coding?.[0]?.code);
      const rights = (c.provision?.action ?? []).map((a) => ACTIONS[a.coding?.[0]?.code] ?? a.coding?.[0]?.code);
      const purpose = c.provision?.purpose?.[0]?.code;
      const active = c.status === 'active';
      return el(
        'tr',
        { dataset: { id: c.id, actor, status: c.status } },
        el('td', {}, who(actor), el('br'), el('span', { class: 'muted' }, hospitalOf(actor))),
        el('td', {}, categories.map(categoryName).join(', ')),
        el('td', {}, rights.join(', ')),
        el('td', {}, fmtDay(c.provision?.period?.start)),
        el('td', {}, fmtDay(c.provision?.period?.end)),
        el('td', {}, active ? 'active' : 'ended', purpose === 'BTG' ? [' ', el('span', { class: 'flag' }, 'emergency')] : null),
        el(
          'td',
          {},
          active && purpose !== 'BTG' ? el('button', { type: 'button', class: 'small secondary', onclick: () => edit(c), 'aria-label': `Edit permission for ${who(actor)}` }, 'Edit') : null,
          active ? el('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke permission for ${who(actor)}`, onclick: () => revoke(c, status) }, 'Revoke') : null,
        ),
      );
    });
  slot.replaceChildren(
    el('div', { class: 'table-wrap' }, el('table', { id: 'permissions-table' }, el('thead', {}, el('tr', {}, ['Who', 'Categories', 'Rights', 'From', 'To', 'Status', ''].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, rows))),
    status,
  );
}

async function revoke(consent, status) {
  try {
    await fhir(`Consent/${consent.id}`, { method: 'DELETE' });
    await refreshAll();
    say(document.getElementById('permissions-status'), 'Revoked. From the next block on, they get nothing.');
  } catch (err) {
    say(status, err.message, 'error');
  }
}

function permissionForm(slot, patientId, practitioners, refresh, editing) {
  const id = 'grant-form';
  const hospitals = Object.keys(config.hospitals);
  const existingActor = editing ? actorOf(editing) : '';
  const existingCats = editing ? (editing.provision?.code ?? []).map((c) => c.coding?.[0]?.code) : [];
  const existingRights = editing ? (editing.provision?.action ?? []).map((a) => a.coding?.[0]?.code) : ['access'];
  const today = new Date();
  const from = editing ? fmtDay(editing.provision?.period?.start) : today.toISOString().slice(0, 10);
  const to = editing ? fmtDay(editing.provision?.period?.end) : new Date(today.getTime() + 90 * DAY).toISOString().slice(0, 10);
  const [actorHospital, actorId] = splitActor(existingActor);
  const status = el('p', { class: 'status', id: 'grant-status' });
  const list = el('datalist', { id: `${id}-practitioners` }, practitioners.map((p) => el('option', { value: p.id }, practitionerName(p))));
  const form = el(
    'form',
    { id, novalidate: true },
    el('h2', {}, editing ? 'Change a permission' : 'Give someone access'),
    editing ? el('p', { class: 'muted' }, 'A change writes a new version of the same permission on the ledger.') : null,
    field(id, 'hospital', 'Their hospital', el('select', { disabled: !!editing }, hospitals.map((h) => el('option', { value: h, selected: h === (actorHospital ?? config.mspId) }, h)))),
    field(id, 'practitioner', 'Practitioner id at that hospital', el('input', { type: 'text', list: `${id}-practitioners`, value: actorId ?? '', disabled: !!editing, autocomplete: 'off' }), 'e.g. lee; practitioners of this hospital are suggested.'),
    list,
    checkboxes(id, 'category', 'Which records', config.categories.map((c) => ({ value: c.code, label: c.display, checked: existingCats.includes(c.code) }))),
    checkboxes(id, 'right', 'What they may do', [
      { value: 'access', label: 'read', checked: existingRights.includes('access') },
      { value: 'correct', label: 'add documents (write)', checked: existingRights.includes('correct') },
    ]),
    field(id, 'start', 'From (first day)', el('input', { type: 'date', value: from })),
    field(id, 'end', 'Until (last day)', el('input', { type: 'date', value: to })),
    el('button', { type: 'submit' }, editing ? 'Save change' : 'Grant access'),
    editing ? el('button', { type: 'button', class: 'secondary', onclick: () => permissionForm(slot, patientId, practitioners, refresh) }, 'Cancel') : null,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const hospital = form.elements.hospital.value;
    const practitioner = form.elements.practitioner.value.trim();
    const categories = checked(form, 'category');
    const rights = checked(form, 'right');
    const startRaw = form.elements.start.value;
    const endRaw = form.elements.end.value;
    const start = parseDay(startRaw);
    const end = parseDay(endRaw);
    let bad = false;
    const fail = (name, message) => (fieldError(form, name, message), (bad = true));
    if (!editing && !/^[-A-Za-z0-9.]{1,64}$/.test(practitioner)) fail('practitioner', 'Enter the practitioner’s id (letters, digits, - and . only).');
    if (!categories.length) fail('category', 'Choose at least one kind of record.');
    if (!rights.length) fail('right', 'Choose read, write or both.');
    if (!start) fail('start', 'Enter a valid date (YYYY-MM-DD).');
    if (!end) fail('end', 'Enter a valid date (YYYY-MM-DD).');
    else if (start && end.getTime() < start.getTime()) fail('end', 'The end must not be before the start.');
    else if (end.getTime() + DAY <= Date.now()) fail('end', 'The end must not be in the past.');
    if (bad) return;
    const reference = editing ? existingActor : hospital === config.mspId ? `Practitioner/${practitioner}` : `${config.hospitals[hospital]}/Practitioner/${practitioner}`;
    // a start of today begins now; the chosen last day is included
    const startIso = start.toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10) ? new Date(Date.now() - 60_000).toISOString() : start.toISOString();
    const provision = {
      type: 'permit',
      period: { start: editing ? editing.provision.period.start : startIso, end: new Date(end.getTime() + DAY).toISOString() },
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference } }],
      action: rights.map((code) => ({ coding: [{ system: ACTION_SYSTEM, code }] })),
      code: categories.map((code) => ({ coding: [{ system: config.categorySystem, code }] })),
    };
    try {
      if (editing) {
        await fhir(`Consent/${editing.id}`, { method: 'PUT', body: { ...editing, provision: { ...editing.provision, ...provision } } });
      } else {
        await fhir('Consent', {
          method: 'POST',
          body: {
            resourceType: 'Consent',
            status: 'active',
            scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
            category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
            patient: { reference: `Patient/${patientId}` },
            policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
            provision,
          },
        });
      }
      await refresh();
      permissionForm(slot, patientId, practitioners, refresh);
      say(slot.querySelector('#grant-status'), editing ? 'Permission changed on the ledger.' : 'Access granted on the ledger.');
    } catch (err) {
      say(status, err.message, 'error');
    }
  });
  slot.replaceChildren(form);
  if (editing) form.scrollIntoView();
}

function splitActor(ref) {
  if (!ref) return [undefined, undefined];
  const local = /^Practitioner\/(.+)$/.exec(ref);
  if (local) return [config.mspId, local[1]];
  const m = /^(.*)\/Practitioner\/([^/]+)$/.exec(ref);
  return m ? [hospitalOfUrl(ref), m[2]] : [undefined, ref];
}

function renderApps(slot, consents, refresh) {
  const status = el('p', { class: 'status', id: 'apps-status' });
  const active = consents.filter((c) => c.status === 'active');
  if (!active.length) return slot.replaceChildren(el('p', {}, 'No app holds a permission from you.'), status);
  slot.replaceChildren(
    el('p', { class: 'muted' }, 'When you approve an app, the hospital writes a permission for it on the ledger. Revoking it stops the app at once.'),
    el(
      'ul',
      { id: 'apps-list' },
      active.map((c) => {
        const client = actorOf(c).replace(/^Device\//, '');
        const name = client === config.clientId ? 'This patient portal' : (c.provision?.actor?.[0]?.reference?.display ?? `App ${client}`);
        const categories = (c.provision?.code ?? []).map((cc) => categoryName(cc.coding?.[0]?.code)).join(', ');
        return el(
          'li',
          { dataset: { client } },
          el('strong', {}, name),
          ` — ${categories}; until ${fmtDay(c.provision?.period?.end)} `,
          el('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke app ${name}`, onclick: async () => {
            try {
              await fhir(`Consent/${c.id}`, { method: 'DELETE' });
              say(status, `${name} can no longer use your records.`);
              await refresh();
            } catch (err) {
              say(status, err.message, 'error');
            }
          } }, 'Revoke'),
        );
      }),
    ),
    status,
  );
}

const EVENT_TEXT = {
  PermissionGranted: 'granted a permission',
  PermissionUpdated: 'changed a permission',
  PermissionRevoked: 'revoked a permission',
  EmergencyAccess: 'used emergency access (break-glass)',
  DocumentAdded: 'added a document',
  DocumentSuperseded: 'replaced a document',
  DocumentStatusChanged: 'changed a document’s status',
  PatientRegistered: 'enrolled you',
  PatientErased: 'erased your data',
  read: 'read',
  vread: 'read a version of',
  search: 'found in a search',
  download: 'downloaded',
};

function renderHistory(slot, events, who, showOwn = false) {
  // the patient's own reads (access-log entries, no ledger transaction) are hidden unless asked for
  const own = (e) => e.agent?.[0]?.who?.reference === ownRef && !e.extension;
  const toggle = el('label', { for: 'history-own' }, el('input', { type: 'checkbox', id: 'history-own', checked: showOwn, onchange: (ev) => renderHistory(slot, events, who, ev.target.checked) }), ' show my own reads too');
  const items = events
    .filter((e) => showOwn || !own(e))
    .sort((a, b) => (b.recorded ?? '').localeCompare(a.recorded ?? ''))
    .map((e) => {
      const kind = e.subtype?.find((c) => c.code in EVENT_TEXT)?.code ?? e.subtype?.at(-1)?.code ?? 'event';
      const emergency = kind === 'EmergencyAccess' || e.purposeOfEvent?.some((p) => p.coding?.some((c) => c.code === 'BTG'));
      const actor = e.agent?.[0]?.who?.reference;
      const what = e.entity?.find((x) => !x.what?.reference?.startsWith('Patient/'))?.what?.reference;
      const block = e.extension?.find((x) => x.url.endsWith('block-number') || x.valueUnsignedInt !== undefined)?.valueUnsignedInt;
      return el(
        'li',
        { dataset: { kind, actor: actor ?? '', emergency: emergency ? 'true' : 'false' } },
        el('time', { datetime: e.recorded }, fmtDate(e.recorded)),
        ' — ',
        emergency ? [el('span', { class: 'flag' }, 'EMERGENCY'), ' '] : null,
        el('strong', {}, who(actor)),
        ` ${EVENT_TEXT[kind] ?? kind}`,
        what ? ` ${what}` : '',
        el('span', { class: 'muted' }, ` (at ${e.source?.site ?? '?'}${block !== undefined ? `, block ${block}` : ', access log'})`),
      );
    });
  slot.replaceChildren(toggle, items.length ? el('ol', { class: 'history', id: 'history-list', reversed: true }, items) : el('p', {}, 'Nothing yet.'));
  if (showOwn) slot.querySelector('#history-own').focus();
}

async function eraseSection(slot, patientId) {
  const available = await hasOperation(`Patient/${patientId}/$erase`);
  const id = 'erase-form';
  const status = el('p', { class: 'status', id: 'erase-status' });
  const form = el(
    'form',
    { id, novalidate: true },
    el('p', {}, 'Erasing ends every permission, marks every document erased on the ledger and destroys the encrypted files and their keys. It cannot be undone.'),
    field(id, 'confirm', 'Type ERASE to confirm', el('input', { type: 'text', autocomplete: 'off', disabled: !available })),
    el('button', { type: 'submit', class: 'danger', disabled: !available }, 'Erase all my data'),
    available ? null : el('p', { class: 'muted', id: 'erase-unavailable' }, 'This hospital’s server does not offer erasure ($erase) yet.'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (form.elements.confirm.value !== 'ERASE') return fieldError(form, 'confirm', 'Type ERASE (capital letters) to confirm.');
    try {
      await fhir(`Patient/${patientId}/$erase`, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'confirm', valueString: patientId }] } });
      say(status, 'Your data is erased.');
      await refreshAll();
    } catch (err) {
      say(status, err.message, 'error');
    }
  });
  slot.replaceChildren(form);
}
