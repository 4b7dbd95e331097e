import express, { type Request, type Response } from 'express';
import type { Queryable } from '../db/database.js';
import type { Users } from '../membership/users.js';
import type { LaunchContexts } from './launch.js';
import { errorBlock, errorPage, esc, loginForm, page } from './pages/html.js';
import { localPatient, localPatients, type PatientChoice } from './patients.js';
import { sameSecret, type HospitalSessions } from './session.js';
import { EHR_PATH, type SmartUrls } from './urls.js';

export interface LaunchableApp {
  clientId: string;
  name: string;
  launchUri: string;
}

/** Registered apps an EHR can launch: those with a `launch_uri` and the authorization_code grant. */
export async function launchableApps(db: Queryable): Promise<LaunchableApp[]> {
  const { rows } = await db.query<{ id: string; payload: { client_name?: string; launch_uri?: string; grant_types?: string[] } }>(
    `SELECT id, payload FROM oauth_artifacts WHERE model = 'Client' AND payload ? 'launch_uri' ORDER BY payload->>'client_name', id`,
  );
  return rows
    .filter((r) => typeof r.payload.launch_uri === 'string' && (r.payload.grant_types ?? ['authorization_code']).includes('authorization_code'))
    .map((r) => ({ clientId: r.id, name: r.payload.client_name ?? r.id, launchUri: r.payload.launch_uri! }));
}

/**
 * The built-in "oncology EHR" (`/ehr`): a practitioner signs in (the hospital session shared with the
 * authorization pages), picks a patient and launches a registered app at `launch_uri?iss=…&launch=…`.
 */
export function ehrRoutes(deps: { users: Users; db: Queryable; sessions: HospitalSessions; launches: LaunchContexts; urls: SmartUrls }): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });

  router.get('/', async (req, res) => {
    const who = await practitioner(req);
    if (!who) return html(res, 200, loginForm({ action: `${EHR_PATH}/login`, heading: 'Oncology EHR — sign in', intro: 'Practitioners of this hospital sign in to open patient charts and launch SMART apps.' }));
    if ('other' in who) return html(res, 403, notPractitioner(who.csrf));
    html(res, 200, chart(who.name, who.csrf, await localPatients(deps.db), await launchableApps(deps.db)));
  });

  router.post('/login', form, async (req, res) => {
    const { username, password } = req.body as Record<string, unknown>;
    const user = typeof username === 'string' && typeof password === 'string' ? await deps.users.login(username, password) : undefined;
    if (!user) return html(res, 401, loginForm({ action: `${EHR_PATH}/login`, heading: 'Oncology EHR — sign in', error: 'Unknown username or wrong password.', username: typeof username === 'string' ? username : '' }));
    await deps.sessions.start(req, res, user.username);
    res.redirect(303, EHR_PATH);
  });

  router.post('/logout', form, async (req, res) => {
    const session = await deps.sessions.read(req);
    if (session && sameSecret((req.body as Record<string, unknown>).csrf, session.csrf)) deps.sessions.end(res);
    res.redirect(303, EHR_PATH);
  });

  router.post('/launch', form, async (req, res) => {
    const who = await practitioner(req);
    if (!who || 'other' in who) return html(res, 403, errorPage('Not signed in', 'Sign in as a practitioner to launch apps.'));
    const body = req.body as Record<string, unknown>;
    if (!sameSecret(body.csrf, who.csrf)) return html(res, 403, errorPage('Launch refused', 'This form has expired; reload the page.'));
    const apps = await launchableApps(deps.db);
    const app = apps.find((a) => a.clientId === body.client_id);
    const patient = typeof body.patient === 'string' ? await localPatient(deps.db, body.patient) : undefined;
    if (!app || !patient) {
      return html(res, 400, chart(who.name, who.csrf, await localPatients(deps.db), apps, 'Choose a patient and an app.'));
    }
    const { launch } = await deps.launches.register({ clientId: app.clientId, patient: patient.id, practitioner: who.fhirUser, issuedBy: 'ehr-page' });
    const target = new URL(app.launchUri);
    target.searchParams.set('iss', deps.urls.fhirBase);
    target.searchParams.set('launch', launch);
    res.set('Cache-Control', 'no-store').redirect(303, target.href);
  });

  return router;

  async function practitioner(req: Request): Promise<{ name: string; fhirUser: string; csrf: string } | { other: true; csrf: string } | undefined> {
    const session = await deps.sessions.read(req);
    if (!session) return undefined;
    const user = await deps.users.find(session.username);
    if (!user || user.status !== 'active') return undefined;
    if (user.role !== 'practitioner') return { other: true, csrf: session.csrf };
    return { name: user.display_name, fhirUser: user.fhir_user, csrf: session.csrf };
  }

  function notPractitioner(csrf: string): string {
    return page('Oncology EHR', `<h1>Oncology EHR</h1><p role="alert">The EHR is for practitioners. Sign out and sign in with a practitioner account.</p>${logoutForm(csrf)}`);
  }
}

function chart(name: string, csrf: string, patients: PatientChoice[], apps: LaunchableApp[], error?: string): string {
  const patientOptions = patients.map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join('\n');
  const appOptions = apps.map((a) => `<option value="${esc(a.clientId)}">${esc(a.name)}</option>`).join('\n');
  return page(
    'Oncology EHR',
    `<h1>Oncology EHR</h1>
<p>Signed in as <strong>${esc(name)}</strong>.</p>
${errorBlock(error)}
<form method="post" action="${EHR_PATH}/launch">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<label for="patient">Patient</label>
<select id="patient" name="patient" required><option value="">Choose a patient…</option>
${patientOptions}
</select>
<label for="client_id">SMART app</label>
<select id="client_id" name="client_id" required><option value="">Choose an app…</option>
${appOptions}
</select>
${apps.length ? '' : '<p class="muted">No app with a launch_uri is registered yet.</p>'}
<button type="submit">Launch app</button>
</form>
${logoutForm(csrf)}`,
  );
}

function logoutForm(csrf: string): string {
  return `<form method="post" action="${EHR_PATH}/logout"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" class="secondary">Sign out</button></form>`;
}

function html(res: Response, status: number, body: string): void {
  res.status(status).set({ 'Cache-Control': 'no-store', 'Content-Type': 'text/html; charset=utf-8' }).send(body);
}
