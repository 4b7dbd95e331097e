/* global FHIR, SMART_APP, document */
// The app's redirect_uri: fhirclient finishes the authorization (code → token), then the app reads the
// patient in context and their DocumentReferences through the FHIR API and lists them.
const status = document.getElementById('status');
const text = (id, value) => (document.getElementById(id).textContent = value ?? '');

function humanName(patient) {
  const name = (patient.name ?? [])[0] ?? {};
  return name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

function row(doc) {
  const attachment = doc.content?.[0]?.attachment ?? {};
  const category = (doc.category ?? []).flatMap((c) => c.coding ?? []).find((c) => c.system === SMART_APP.categorySystem) ?? {};
  const type = doc.type?.coding?.[0] ?? {};
  const tr = document.createElement('tr');
  tr.dataset.id = doc.id;
  tr.dataset.category = category.code ?? '';
  for (const value of [category.display ?? category.code, type.display ?? `LOINC ${type.code ?? '?'}`, attachment.contentType, (doc.date ?? '').slice(0, 10)]) {
    const td = document.createElement('td');
    td.textContent = value ?? '';
    tr.append(td);
  }
  return tr;
}

FHIR.oauth2
  .ready()
  .then(async (client) => {
    const [patient, documents] = await Promise.all([
      client.patient.read(),
      client.request(`DocumentReference?patient=${encodeURIComponent(client.patient.id)}`, { pageLimit: 0, flat: true }),
    ]);
    const token = client.state.tokenResponse;
    text('patient-name', humanName(patient));
    text('patient-id', `Patient/${patient.id}`);
    text('fhir-user', client.getFhirUser());
    text('granted-scope', token.scope);
    if (token.need_patient_banner) {
      text('banner-name', humanName(patient));
      text('banner-birth', patient.birthDate);
      text('banner-gender', patient.gender);
      document.getElementById('banner').hidden = false;
    }
    document.querySelector('#documents tbody').append(...documents.map(row));
    status.dataset.state = 'ready';
    status.textContent = `${documents.length} document${documents.length === 1 ? '' : 's'} from ${client.state.serverUrl}`;
  })
  .catch((err) => {
    status.dataset.state = 'error';
    status.textContent = `Could not load the record: ${err.message}`;
  });
