/* global FHIR, SMART_APP, URLSearchParams, document, window */
// The app's launch_uri. Opened with ?iss=…&launch=… by an EHR (EHR launch), or without parameters by a
// patient (standalone launch at the app's home hospital, whose FHIR base fhirclient is given as `iss`).
const ehrLaunch = new URLSearchParams(window.location.search).has('launch');
const read = 'patient/Patient.rs patient/DocumentReference.rs';

FHIR.oauth2
  .authorize({
    clientId: SMART_APP.clientId,
    iss: SMART_APP.fhirBase,
    scope: ehrLaunch ? `launch openid fhirUser ${read}` : `launch/patient openid fhirUser ${read}`,
    redirectUri: 'index.html',
    pkceMode: 'required',
  })
  .catch((err) => {
    const status = document.getElementById('status');
    status.dataset.state = 'error';
    status.textContent = `Could not start the authorization: ${err.message}`;
  });
