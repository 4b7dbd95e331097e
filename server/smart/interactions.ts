import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import { dataCategories } from '../../profiles/index.js';
import type { Right } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import type { LedgerClient } from '../ledger/index.js';
import type { UserRow, Users } from '../membership/users.js';
import type { GrantContexts } from './grants.js';
import type { LaunchContext, LaunchContexts } from './launch.js';
import { consentPage, type ConsentView } from './pages/consent.js';
import { errorPage, esc, loginForm } from './pages/html.js';
import { localPatient, localPatients } from './patients.js';
import { STATIC_SCOPES } from './provider.js';
import { hasScope, parseScopes, resourceScopes, type ParsedScope } from './scopes.js';
import type { HospitalSessions } from './session.js';
import type { SmartUrls } from './urls.js';

export interface InteractionDeps {
  provider: Provider;
  users: Users;
  urls: SmartUrls;
  db: Queryable;
  ledger: LedgerClient;
  sessions: HospitalSessions;
  launches: LaunchContexts;
  grants: GrantContexts;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

const DEFAULT_PERMISSION_DAYS = 365;
const DAY_MS = 86_400_000;

class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a consent screen is about: who, which app, which scopes, which launch. */
interface ConsentSubject {
  interaction: Interaction;
  client: Client;
  user: UserRow;
  requested: string[];
  grantable: ParsedScope[];
  launch?: LaunchContext;
}

/** The login page and the consent screen of the authorization flow (`/fhir/auth/interaction/:uid`). */
export function interactionRoutes(deps: InteractionDeps): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 500 });
  const base = (uid: string) => `${deps.urls.authBase}/interaction/${encodeURIComponent(uid)}`;

  router.get('/interaction/:uid', (req, res) => handle(res, async () => {
    const interaction = await detailsFor(req, res);
    if (interaction.prompt.name === 'login') {
      const session = await deps.sessions.read(req);
      const onlyNoSession = interaction.prompt.reasons.every((r) => r === 'no_session');
      const user = session && onlyNoSession ? await deps.users.find(session.username) : undefined;
      if (user?.status === 'active') return deps.provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
      return send(res, 200, loginPage(interaction, base(interaction.uid)));
    }
    if (interaction.prompt.name === 'consent') return send(res, 200, consentPage(await consentView(await subjectOf(interaction), base(interaction.uid))));
    throw new PageError(400, 'Authorization failed', `unexpected step ${interaction.prompt.name}`);
  }));

  router.post('/interaction/:uid/login', form, (req, res) => handle(res, async () => {
    const interaction = await detailsFor(req, res);
    if (interaction.prompt.name !== 'login') throw new PageError(400, 'Authorization failed', 'this request does not need a login now');
    const { username, password } = req.body as Record<string, unknown>;
    const user = typeof username === 'string' && typeof password === 'string' ? await deps.users.login(username, password) : undefined;
    if (!user) return send(res, 401, loginPage(interaction, base(interaction.uid), 'Unknown username or wrong password.', typeof username === 'string' ? username : ''));
    await deps.sessions.start(req, res, user.username);
    await deps.provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }));

  router.post('/interaction/:uid/consent', form, (req, res) => handle(res, async () => {
    const interaction = await detailsFor(req, res);
    if (interaction.prompt.name !== 'consent') throw new PageError(400, 'Authorization failed', 'this request does not need a consent now');
    const body = req.body as Record<string, unknown>;
    if (body.decision === 'deny') {
      return deps.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user denied the request' }, { mergeWithLastSubmission: false });
    }
    if (body.decision !== 'approve') throw new PageError(400, 'Authorization failed', 'decision must be approve or deny');
    const subject = await subjectOf(interaction);
    const rerender = async (message: string) => send(res, 400, consentPage({ ...(await consentView(subject, base(interaction.uid))), error: message }));
    const picked = new Set(list(body.scope));
    const chosen = subject.grantable.filter((s) => picked.has(s.scope));
    const decision = await decide(subject, chosen, body);
    if (typeof decision === 'string') return rerender(decision);

    let permission: { patient: string; id: string } | undefined;
    if (decision.ledger) {
      try {
        permission = await writePermission(subject, decision.ledger);
      } catch (err) {
        throw new PageError(502, 'The permission could not be written', `the ledger did not take the permission: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const grantId = await saveGrant(subject, chosen);
    await deps.grants.save({
      grantId,
      clientId: subject.client.clientId,
      username: subject.user.username,
      ...(decision.patient ? { patient: decision.patient } : {}),
      ...(subject.launch?.encounter ? { encounter: subject.launch.encounter } : {}),
      needPatientBanner: !subject.launch,
      ...(permission ? { permission } : {}),
    });
    await deps.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }));

  return router;

  async function detailsFor(req: Request, res: Response): Promise<Interaction> {
    let interaction: Interaction;
    try {
      interaction = await deps.provider.interactionDetails(req, res);
    } catch {
      throw new PageError(400, 'Authorization expired', 'This sign-in page has expired or was opened in another browser. Start again from the app.');
    }
    if (interaction.uid !== req.params.uid) throw new PageError(400, 'Authorization failed', 'this page belongs to another authorization request');
    return interaction;
  }

  async function subjectOf(interaction: Interaction): Promise<ConsentSubject> {
    const clientId = String(interaction.params.client_id);
    const client = await deps.provider.Client.find(clientId);
    const user = interaction.session?.accountId ? await deps.users.find(interaction.session.accountId) : undefined;
    if (!client || !user || user.status !== 'active') throw new PageError(400, 'Authorization failed', 'the app or the account is no longer known');
    const requested = String(interaction.params.scope ?? '').split(' ').filter(Boolean);
    const grantable = grantableForUser(requested, client);
    let launch: LaunchContext | undefined;
    if (typeof interaction.params.launch === 'string') {
      launch = await deps.launches.spent(interaction.params.launch, clientId);
      if (!launch) throw new PageError(400, 'Launch expired', 'the EHR launch has expired; launch the app again from the EHR');
      if (launch.practitioner !== user.fhir_user) throw new PageError(403, 'Launch not for you', 'this EHR launch was started by another practitioner');
    }
    return { interaction, client, user, requested, grantable, launch };
  }

  async function consentView(s: ConsentSubject, action: string): Promise<ConsentView> {
    const wantsPatient = hasScope(s.grantable, 'launch/patient');
    const view: ConsentView = {
      action: `${action}/consent`,
      clientName: String(s.client.clientName ?? s.client.clientId),
      clientId: s.client.clientId,
      userName: s.user.display_name,
      scopes: s.grantable,
      ignored: s.requested.filter((r) => !s.grantable.some((g) => g.scope === r)),
    };
    if (s.launch) view.launchPatient = (await localPatient(deps.db, s.launch.patient))?.name ?? `Patient/${s.launch.patient}`;
    if (s.user.role === 'patient') {
      view.categories = dataCategories().map((c) => ({ code: c.code, display: c.display, checked: c.code !== 'patient-private' }));
      view.periodEnd = new Date(Date.now() + DEFAULT_PERMISSION_DAYS * DAY_MS).toISOString().slice(0, 10);
    } else if (wantsPatient && !s.launch) {
      view.patientChoices = await localPatients(deps.db);
    }
    return view;
  }

  /** The approval's consequences, or a message to show on the form again. */
  async function decide(s: ConsentSubject, chosen: ParsedScope[], body: Record<string, unknown>): Promise<string | { patient?: string; ledger?: { rights: Right[]; categories: string[]; to: Date } }> {
    if (s.user.role === 'patient') {
      const patient = s.user.fhir_user.replace(/^Patient\//, '');
      const rights = rightsOf(chosen);
      if (!rights.length) return { patient };
      const known = new Set(dataCategories().map((c) => c.code));
      const categories = [...new Set(list(body.category).filter((c) => known.has(c)))];
      if (!categories.length) return 'Choose at least one kind of record the app may use, or deny.';
      const to = periodEnd(body.period_end);
      if (!to) return 'The end date must be a date in the future.';
      return { patient, ledger: { rights, categories, to } };
    }
    if (s.launch) return { patient: s.launch.patient };
    if (!chosen.some((c) => c.kind === 'launch/patient')) return {};
    const picked = typeof body.patient === 'string' ? await localPatient(deps.db, body.patient) : undefined;
    if (!picked) return 'Choose the patient the app should open with.';
    return { patient: picked.id };
  }

  async function writePermission(s: ConsentSubject, terms: { rights: Right[]; categories: string[]; to: Date }): Promise<{ patient: string; id: string }> {
    const pseudonym = s.user.pseudonym;
    if (!pseudonym) throw new Error('this patient has no ledger pseudonym');
    const id = crypto.randomUUID();
    const ledgerUser = deps.users.callerOf(s.user, []).ledgerUser;
    const committed = await deps.ledger.consentry.grantPermission(ledgerUser, {
      id,
      patient: pseudonym,
      grantee: { kind: 'client', id: s.client.clientId },
      rights: terms.rights,
      categories: terms.categories,
      from: new Date().toISOString(),
      to: terms.to.toISOString(),
      purpose: 'TREAT',
    });
    // the app's first request must already see the permission in this hospital's replica
    await deps.ledger.projection.waitForBlock(committed.blockNumber);
    return { patient: pseudonym, id };
  }

  async function saveGrant(s: ConsentSubject, chosen: ParsedScope[]): Promise<string> {
    const statics = new Set(STATIC_SCOPES);
    const chosenSet = new Set(chosen.map((c) => c.scope));
    const grant = new deps.provider.Grant({ accountId: s.user.username, clientId: s.client.clientId });
    const requestedStatics = s.requested.filter((r) => statics.has(r));
    const keptStatics = requestedStatics.filter((r) => chosenSet.has(r));
    const droppedStatics = requestedStatics.filter((r) => !chosenSet.has(r));
    if (keptStatics.length) grant.addOIDCScope(keptStatics);
    if (droppedStatics.length) grant.rejectOIDCScope(droppedStatics);
    // everything granted is also a scope of the FHIR base, so access tokens carry the full scope string
    if (chosen.length) grant.addResourceScope(deps.urls.fhirBase, [...chosenSet]);
    const refused = s.grantable.filter((g) => !chosenSet.has(g.scope)).map((g) => g.scope);
    if (refused.length) grant.rejectResourceScope(deps.urls.fhirBase, refused);
    return grant.save();
  }
}

/** The requested scopes a user-facing app may be granted (never system/ ones), within what the client registered. */
export function grantableForUser(requested: string[], client: { [key: string]: unknown }): ParsedScope[] {
  const registered = new Set(typeof client['smart_scope'] === 'string' ? client['smart_scope'].split(' ') : []);
  const statics = new Set(STATIC_SCOPES);
  return parseScopes(requested).filter((s) => {
    if (s.kind === 'system/launch' || (s.kind === 'resource' && s.context === 'system')) return false;
    if (statics.has(s.scope)) return true;
    return !registered.size || registered.has(s.scope);
  });
}

/** Ledger rights from scopes: read for r/s (v1 read), write for c/u (v1 write). */
export function rightsOf(scopes: ParsedScope[]): Right[] {
  const resource = resourceScopes(scopes);
  const rights: Right[] = [];
  if (resource.some((s) => s.interactions.includes('r') || s.interactions.includes('s'))) rights.push('read');
  if (resource.some((s) => s.interactions.includes('c') || s.interactions.includes('u'))) rights.push('write');
  return rights;
}

function periodEnd(value: unknown): Date | undefined {
  if (value === undefined || value === '') return new Date(Date.now() + DEFAULT_PERMISSION_DAYS * DAY_MS);
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const end = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(end.getTime())) return undefined;
  // the chosen day is included: access ends when it does
  const to = new Date(end.getTime() + DAY_MS);
  return to.getTime() > Date.now() ? to : undefined;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

function loginPage(interaction: Interaction, base: string, error?: string, username?: string): string {
  const client = String(interaction.params.client_id ?? '');
  return loginForm({ action: `${base}/login`, heading: 'Sign in to Consentry', intro: `An app (<code>${esc(client)}</code>) asks to use your health records. Sign in with your hospital account.`, error, username });
}

function send(res: Response, status: number, html: string): void {
  res.status(status).set({ 'Cache-Control': 'no-store', 'Content-Type': 'text/html; charset=utf-8' }).send(html);
}

async function handle(res: Response, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (res.headersSent) return;
    if (err instanceof PageError) return send(res, err.status, errorPage(err.title, err.message));
    send(res, 500, errorPage('Something went wrong', err instanceof Error ? err.message : String(err)));
  }
}
