/* global document */
// The caregiver portal: the patients who shared with me and what, their documents, uploads where I may write,
// break-glass when my identity allows it, and the way into the oncology EHR to launch apps.
import { boot, documentTitle, DOCUMENT_TYPES, categoryName, categoryOf, checkboxes, clearErrors, config, el, fhir, field, fieldError, fileAsBase64, fmtDate, fmtDay, frame, hospitalOfUrl, openBinary, probeOperation, say, searchAll, submitForm } from './common.js';

const TITLE = 'Caregiver portal';
const RIGHTS = { access: 'read', correct: 'write', disclose: 'share' };

boot(TITLE, 'The records your patients shared with you, as the ledger allows right now.', render);

async function render(s) {
  const me = /Practitioner\/[^/]+$/.exec(s.fhirUser ?? '')?.[0];
  if (!me) throw new Error('this portal is for practitioners; sign in with a practitioner account');
  const practitioner = await fhir(me);
  const name = practitioner.name?.[0] ? `${practitioner.name[0].prefix?.join(' ') ?? ''} ${practitioner.name[0].given?.join(' ') ?? ''} ${practitioner.name[0].family ?? ''}`.replace(/\s+/g, ' ').trim() : me;
  const main = frame(s, TITLE, `${name} · ${config.mspId}`, [['patients', 'My patients'], ['records', 'Records'], ['break-glass', 'Emergency access'], ['ehr', 'Launch an app']]);
  const patientsSlot = section(main, 'patients', 'Patients who shared with me');
  const recordsSlot = section(main, 'records', 'Records');
  const glassSlot = section(main, 'break-glass', 'Emergency access (break-glass)');
  const ehrSlot = section(main, 'ehr', 'Launch a SMART app for a patient');
  ehrSlot.append(el('p', {}, 'Apps are launched from the hospital’s oncology EHR page: choose a patient and an app there, and the app opens with that patient in context.'), el('p', {}, el('a', { href: config.ehrUrl, id: 'ehr-link' }, 'Open the oncology EHR')));

  let selected;
  let state = { shares: [], names: new Map(), authors: new Map() };
  const load = async () => {
    const [consents, patients, practitioners] = await Promise.all([searchAll(`Consent?actor=${me}&_count=100`), searchAll('Patient?_count=100'), searchAll('Practitioner?_count=100')]);
    state = { shares: consents.filter((c) => c.status === 'active'), names: new Map(patients.map((p) => [p.id, patientName(p)])), authors: new Map(practitioners.map((p) => [`Practitioner/${p.id}`, patientName(p)])) };
    renderPatients(patientsSlot, state.shares, state.names, openPatient);
    if (selected && !state.shares.some((c) => patientOf(c) === selected)) selected = undefined;
    if (selected) await openPatient(selected);
    else recordsSlot.replaceChildren(el('p', { id: 'records-empty' }, state.shares.length ? 'Choose a patient above.' : 'No patient has shared records with you.'));
  };
  async function openPatient(id) {
    selected = id;
    const documents = await searchAll(`DocumentReference?patient=${id}&_sort=-date&_count=100`);
    const mine = state.shares.filter((c) => patientOf(c) === id);
    const writable = [...new Set(mine.filter((c) => c.provision?.action?.some((a) => a.coding?.[0]?.code === 'correct')).flatMap((c) => (c.provision?.code ?? []).map((cc) => cc.coding?.[0]?.code)))];
    renderRecords(recordsSlot, id, state.names.get(id) ?? id, documents, writable, () => openPatient(id), (ref) => state.authors.get(ref) ?? ref.replace(/^.*\/(Practitioner\/)/, '$1'));
  }
  await load();
  await breakGlass(glassSlot, load);
}

function section(main, id, title) {
  const body = el('div', { id: `${id}-body` });
  main.append(el('section', { id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), body));
  return body;
}

const patientOf = (c) => String(c.patient?.reference ?? '').replace(/^Patient\//, '');
function patientName(p) {
  const n = p.name?.[0];
  return n ? `${n.prefix?.join(' ') ?? ''} ${n.given?.join(' ') ?? ''} ${n.family ?? ''}`.replace(/\s+/g, ' ').trim() : `Patient ${p.id.slice(0, 12)}…`;
}

function renderPatients(slot, shares, names, open) {
  if (!shares.length) return slot.replaceChildren(el('p', { id: 'no-patients' }, 'Nobody has shared records with you right now.'));
  const rows = shares.map((c) => {
    const id = patientOf(c);
    const who = names.get(id) ?? id;
    return el(
      'tr',
      { dataset: { patient: id, consent: c.id } },
      el('td', {}, who),
      el('td', {}, (c.provision?.code ?? []).map((cc) => categoryName(cc.coding?.[0]?.code)).join(', ')),
      el('td', {}, (c.provision?.action ?? []).map((a) => RIGHTS[a.coding?.[0]?.code] ?? a.coding?.[0]?.code).join(', '), c.provision?.purpose?.[0]?.code === 'BTG' ? [' ', el('span', { class: 'flag' }, 'emergency')] : null),
      el('td', {}, fmtDay(c.provision?.period?.end)),
      el('td', {}, el('button', { type: 'button', class: 'small', 'aria-label': `Open records of ${who}`, onclick: () => open(id) }, 'Open records')),
    );
  });
  slot.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { id: 'patients-table' }, el('thead', {}, el('tr', {}, ['Patient', 'Shared records', 'Rights', 'Until (exclusive)', ''].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, rows))));
}

function renderRecords(slot, patientId, patientName, documents, writable, reload, authorName) {
  const preview = el('div', { id: 'document-preview', 'aria-live': 'polite' });
  const status = el('p', { class: 'status', id: 'records-status' });
  const rows = documents.map((d) => {
    const att = d.content?.[0]?.attachment ?? {};
    const title = documentTitle(d);
    const author = d.author?.[0]?.reference ?? '';
    const open = (download) => openBinary(att.url, { download, target: preview, filename: title }).then(() => say(status, download ? `Downloaded “${title}”.` : `Showing “${title}”.`)).catch((e) => say(status, e.message, 'error'));
    return el(
      'tr',
      { dataset: { id: d.id, category: categoryOf(d) ?? '' } },
      el('td', {}, title),
      el('td', {}, categoryName(categoryOf(d))),
      el('td', {}, authorName(author)),
      el('td', {}, /^https?:/.test(author) ? (hospitalOfUrl(author) ?? '') : config.mspId),
      el('td', {}, fmtDate(d.date)),
      el('td', {}, el('button', { type: 'button', class: 'small secondary', onclick: () => open(false), 'aria-label': `View ${title}` }, 'View'), el('button', { type: 'button', class: 'small', onclick: () => open(true), 'aria-label': `Download ${title}` }, 'Download')),
    );
  });
  slot.replaceChildren(
    el('h3', { id: 'records-patient' }, patientName),
    documents.length
      ? el('div', { class: 'table-wrap' }, el('table', { id: 'documents-table' }, el('thead', {}, el('tr', {}, ['Document', 'Category', 'Author', 'Hospital', 'Date', ''].map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, rows)))
      : el('p', { id: 'no-documents' }, 'No documents you may read.'),
    status,
    preview,
    uploadForm(patientId, writable, reload),
  );
}

function uploadForm(patientId, writable, reload) {
  const id = 'upload-form';
  if (!writable.length) return el('p', { class: 'muted', id: 'upload-unavailable' }, 'This patient has not given you write access to any category, so you cannot add documents.');
  const status = el('p', { class: 'status', id: 'upload-status' });
  const categories = writable.includes('*') ? config.categories.filter((c) => c.code !== 'patient-private').map((c) => c.code) : writable;
  const choice = checkboxes(id, 'category', 'Category', categories.map((c) => ({ value: c, label: categoryName(c) })));
  for (const input of choice.querySelectorAll('input')) input.type = 'radio';
  const form = el(
    'form',
    { id, novalidate: true },
    el('h3', {}, 'Add a document'),
    choice,
    field(id, 'type', 'Kind of document', el('select', {}, el('option', { value: '' }, 'Choose…'), Object.entries(DOCUMENT_TYPES).filter(([code]) => code !== '51855-5').map(([code, name]) => el('option', { value: code }, name)))),
    field(id, 'file', 'File', el('input', { type: 'file' })),
    el('button', { type: 'submit' }, 'Upload'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const chosen = [...form.querySelectorAll('input[name="category"]:checked')].map((i) => i.value);
    const type = form.elements.type.value;
    const title = DOCUMENT_TYPES[type];
    const file = form.elements.file.files[0];
    if (chosen.length !== 1) fieldError(form, 'category', 'Choose a category.');
    if (!title) fieldError(form, 'type', 'Choose the kind of document.');
    if (!file) fieldError(form, 'file', 'Choose a file.');
    else if (file.size > 10 * 1024 * 1024) fieldError(form, 'file', 'At most 10 MB here.');
    if (chosen.length !== 1 || !title || !file || file.size > 10 * 1024 * 1024) return;
    try {
      await fhir('DocumentReference', {
        method: 'POST',
        body: {
          resourceType: 'DocumentReference',
          status: 'current',
          type: { coding: [{ system: 'http://loinc.org', code: type }] },
          category: [{ coding: [{ system: config.categorySystem, code: chosen[0] }] }],
          subject: { reference: `Patient/${patientId}` },
          content: [{ attachment: { contentType: file.type || 'application/octet-stream', data: await fileAsBase64(file) } }],
        },
      });
      await reload();
      say(document.getElementById('records-status'), `Uploaded “${title}”.`);
    } catch (err) {
      say(status, err.message, 'error');
    }
  });
  return form;
}

async function breakGlass(slot, reload) {
  const probe = await probeOperation('Patient/probe/$break-glass');
  if (!probe.available) return slot.replaceChildren(el('p', { class: 'muted', id: 'break-glass-unavailable' }, 'This hospital’s server does not offer break-glass yet.'));
  if (probe.status === 403) return slot.replaceChildren(el('p', { id: 'break-glass-not-allowed' }, 'Your identity does not carry emergency access (the certificate attribute emergency=true).'));
  const id = 'glass-form';
  const status = el('p', { class: 'status', id: 'glass-status' });
  const form = el(
    'form',
    { id, novalidate: true },
    el('p', {}, 'Opens every record but private notes for 4 hours. It is written on the ledger, flagged, and shown to the patient.'),
    field(id, 'patient', 'Patient id', el('input', { type: 'text', autocomplete: 'off' })),
    field(id, 'reason', 'Reason', el('textarea', { maxlength: 1000 })),
    el('button', { type: 'submit', class: 'danger' }, 'Break the glass'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const patient = form.elements.patient.value.trim();
    const reason = form.elements.reason.value.trim();
    if (!/^[-A-Za-z0-9.]{1,64}$/.test(patient)) fieldError(form, 'patient', 'Enter the patient’s id.');
    if (!reason) fieldError(form, 'reason', 'Say why you need emergency access.');
    if (!/^[-A-Za-z0-9.]{1,64}$/.test(patient) || !reason) return;
    await submitForm(form, status, {
      send: () => fhir(`Patient/${patient}/$break-glass`, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: reason }] } }),
      done: 'Emergency access granted for 4 hours; the patient will see it.',
      reload,
    });
  });
  slot.replaceChildren(form);
}
