// The world of the leak tests: two patients, two practitioners at Hospital A (and one at B), documents of
// every kind of visibility, and callers with a token of each kind (patient, user, system), each with the
// exact set of documents, patients and consents the ledger and their scopes let them reach.
import { expect } from 'vitest';
import { consentBody, documentBody } from '../../server/demo/fhir-bodies.js';
import type { HospitalNode } from '../../server/node.js';
import { fhir, startTestNetwork, type TestNetwork } from '../support/network.js';
import { authorize, backendKey, clientAssertion, exchangeCode, publicApp, register, tokenRequest, type Json } from './helpers.js';

export const DOCS = ['d1a', 'd1b', 'd1c', 'd1d', 'd2a', 'd2b', 'd2c'] as const;
export type DocKey = (typeof DOCS)[number];
export const CONSENTS = ['cRyu', 'cLee', 'cOpen', 'cApp', 'cPark', 'cOrg'] as const;
export type ConsentKey = (typeof CONSENTS)[number];
export type PatientKey = 'mara' | 'leo';
/** Whose each consent is. */
export const CONSENT_PATIENT: Record<ConsentKey, PatientKey> = { cRyu: 'mara', cLee: 'mara', cOpen: 'mara', cApp: 'mara', cPark: 'leo', cOrg: 'leo' };

/** What each document is: whose, which category, who wrote it. */
export const DOC_SPECS: Record<DocKey, { patient: PatientKey; category: string; loinc: string; author: 'mara' | 'leo' | 'ryu' }> = {
  d1a: { patient: 'mara', category: 'lab-results', loinc: '11502-2', author: 'mara' },
  d1b: { patient: 'mara', category: 'imaging', loinc: '18748-4', author: 'mara' },
  d1c: { patient: 'mara', category: 'patient-private', loinc: '51855-5', author: 'mara' },
  d1d: { patient: 'mara', category: 'radiation-dose', loinc: '73569-6', author: 'ryu' },
  d2a: { patient: 'leo', category: 'lab-results', loinc: '11502-2', author: 'leo' },
  d2b: { patient: 'leo', category: 'imaging', loinc: '18748-4', author: 'leo' },
  d2c: { patient: 'leo', category: 'treatment-plan', loinc: '18776-5', author: 'leo' },
};

/** Every caller of the catalogue, by name (the tests are generated from this list before the world exists). */
export const CALLER_NAMES = [
  'patient Mara (patient/*.rs)',
  'patient Leo (patient/*.rs)',
  "Mara's app (lab-results and imaging approved)",
  'Dr. Ryu (user/*.rs)',
  'Dr. Park (user/*.rs)',
  'Dr. Ryu launched with Leo (patient/*.rs)',
  'Dr. Lee at Hospital B (user/*.rs)',
  'openly registered backend (system/*.rs)',
  'backend registered by Hospital A (system/*.rs)',
] as const;

export interface LeakCaller {
  name: string;
  kind: 'patient' | 'user' | 'system';
  node: 'a' | 'b';
  token(): Promise<string>;
  docs: DocKey[];
  patients: PatientKey[];
  consents: ConsentKey[];
  /** the agent reference of this caller's own reads in AuditEvent (practitioners, backend services) */
  agent?: string;
}

export interface LeakWorld {
  net: TestNetwork;
  ids: { mara: string; leo: string };
  pseudonyms: { mara: string; leo: string };
  docs: Record<DocKey, string>;
  bytes: Record<DocKey, Buffer>;
  consents: Record<ConsentKey, string>;
  clients: { open: Json; org: Json; app: Json };
  keys: { open: Awaited<ReturnType<typeof backendKey>>; org: Awaited<ReturnType<typeof backendKey>> };
  callers: LeakCaller[];
  /** a fresh client_credentials token of a backend client for these scopes */
  systemToken(client: 'open' | 'org', scope: string): Promise<string>;
  node(which: 'a' | 'b'): HospitalNode;
  stop(): Promise<void>;
}

const ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const backend = (name: string, jwks: Json) => ({ client_name: name, token_endpoint_auth_method: 'private_key_jwt', jwks, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });

export async function buildLeakWorld(): Promise<LeakWorld> {
  // registration is open (as on the demo network) so that one backend can register openly and another with
  // the hospital's initial access token
  process.env.SMART_OPEN_REGISTRATION = 'true';
  const net = await startTestNetwork();
  const a = net.a;
  const mara = await a.enrollment.enrollPatient({ username: 'mara', password: 'pw-mara', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' });
  const leo = await a.enrollment.enrollPatient({ username: 'leo', password: 'pw-leo', given: 'Leo', family: 'Brandt', birthDate: '1958-09-30', postalCode: '11790', gender: 'male' });
  await a.enrollment.enrollPractitioner({ username: 'ryu', password: 'pw-ryu', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893' });
  await a.enrollment.enrollPractitioner({ username: 'park', password: 'pw-park', id: 'park', given: 'Ann', family: 'Park', npi: '1245319599' });
  await net.b.enrollment.enrollPractitioner({ username: 'lee', password: 'pw-lee', id: 'lee', given: 'Min', family: 'Lee', npi: '1679576722' });
  const ids = { mara: mara.patientId, leo: leo.patientId };
  const pseudonyms = { mara: mara.pseudonym, leo: leo.pseudonym };
  // setup acts with operator tokens (the user's full ledger rights)
  const setup = { mara: await a.tokenFor('mara'), leo: await a.tokenFor('leo'), ryu: await a.tokenFor('ryu') };

  const keys = { open: await backendKey('ES384'), org: await backendKey('RS384') };
  const clients = {
    open: await register(a, backend('open backend', keys.open.jwks)),
    org: await register(a, backend('hospital backend', keys.org.jwks), { token: a.smart.initialAccessToken }),
    app: await register(a, publicApp('Leak test app')),
  };

  const consents = {} as Record<ConsentKey, string>;
  const grant = async (key: ConsentKey, token: string, body: unknown) => {
    const res = await fhir(a.baseUrl, token, 'POST', 'Consent', body);
    expect(res.status, res.text).toBe(201);
    consents[key] = res.body!.id;
  };
  await grant('cRyu', setup.mara, consentBody(ids.mara, 'Practitioner/ryu', ['lab-results', 'radiation-dose'], ['access', 'correct']));
  await grant('cLee', setup.mara, consentBody(ids.mara, `${net.b.baseUrl}/Practitioner/lee`, ['lab-results']));
  await grant('cPark', setup.leo, consentBody(ids.leo, 'Practitioner/park', ['imaging']));
  await grant('cOrg', setup.leo, consentBody(ids.leo, 'Organization/HospitalAMSP', ['treatment-plan']));
  // a grant to a backend client by id, written as the consent screen writes an app's permission
  const maraLedger = a.users.callerOf((await a.users.find('mara'))!, []).ledgerUser;
  consents.cOpen = `open-${Date.now()}`;
  const committed = await a.ledger.client.consentry.grantPermission(maraLedger, {
    id: consents.cOpen,
    patient: pseudonyms.mara,
    grantee: { kind: 'client', id: clients.open.client_id },
    rights: ['read'],
    categories: ['imaging'],
    from: new Date(Date.now() - 60_000).toISOString(),
    to: new Date(Date.now() + 90 * 86_400_000).toISOString(),
    purpose: 'TREAT',
  });
  await a.ledger.client.projection.waitForBlock(committed.blockNumber);

  const docs = {} as Record<DocKey, string>;
  const bytes = {} as Record<DocKey, Buffer>;
  for (const key of DOCS) {
    const spec = DOC_SPECS[key];
    bytes[key] = Buffer.from(`%PDF-1.4 ${key} ${spec.category} of ${spec.patient}`);
    const res = await fhir(a.baseUrl, setup[spec.author], 'POST', 'DocumentReference', documentBody(ids[spec.patient], spec.category, spec.loinc, { data: bytes[key], contentType: 'application/pdf' }));
    expect(res.status, res.text).toBe(201);
    docs[key] = res.body!.id;
  }

  // a patient's app, approved on the consent screen for two categories only
  const approved = await authorize(a, {
    clientId: clients.app.client_id,
    scope: 'openid launch/patient patient/*.rs',
    username: 'mara',
    password: 'pw-mara',
    consent: ({ scopes }) => ({ scope: scopes, category: ['lab-results', 'imaging'], decision: 'approve' }),
  });
  const appToken = (await exchangeCode(a, clients.app.client_id, approved.redirect, approved.verifier)).body.access_token as string;
  const { rows } = await a.db.query<{ id: string }>(`SELECT id FROM ledger_permissions WHERE patient = $1 AND grantee_kind = 'client' AND grantee_id = $2`, [pseudonyms.mara, clients.app.client_id]);
  consents.cApp = rows[0].id;

  // Dr. Ryu launched from the EHR with Leo in context: patient/ scopes reach Leo's data only
  const { launch } = await a.smart.launches.register({ clientId: clients.app.client_id, patient: ids.leo, practitioner: 'Practitioner/ryu', issuedBy: 'ehr-page' });
  const launched = await authorize(a, { clientId: clients.app.client_id, scope: 'launch openid fhirUser patient/*.rs', launch, username: 'ryu', password: 'pw-ryu' });
  const launchToken = (await exchangeCode(a, clients.app.client_id, launched.redirect, launched.verifier)).body.access_token as string;

  // B follows the same ledger: wait until its replica holds everything written above
  await net.b.ledger.client.projection.waitForBlock(a.ledger.client.projection.height() - 1);

  const systemTokens = new Map<string, { token: string; until: number }>();
  const systemToken = async (which: 'open' | 'org', scope: string): Promise<string> => {
    const cached = systemTokens.get(`${which} ${scope}`);
    if (cached && Date.now() < cached.until) return cached.token;
    const client = clients[which];
    const res = await tokenRequest(a, { grant_type: 'client_credentials', scope, client_assertion_type: ASSERTION, client_assertion: await clientAssertion(keys[which], client.client_id, a.smart.urls.token) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    systemTokens.set(`${which} ${scope}`, { token: res.body.access_token, until: Date.now() + 200_000 });
    return res.body.access_token as string;
  };
  const fixed = (token: string) => () => Promise.resolve(token);
  const scoped = (node: HospitalNode, user: string, scope: string) => {
    const minted = node.tokenFor(user, scope);
    return () => minted;
  };

  const callers: LeakCaller[] = [
    { name: 'patient Mara (patient/*.rs)', kind: 'patient', node: 'a', token: scoped(a, 'mara', 'patient/*.rs'), docs: ['d1a', 'd1b', 'd1c', 'd1d'], patients: ['mara'], consents: ['cRyu', 'cLee', 'cOpen', 'cApp'] },
    { name: 'patient Leo (patient/*.rs)', kind: 'patient', node: 'a', token: scoped(a, 'leo', 'patient/*.rs'), docs: ['d2a', 'd2b', 'd2c'], patients: ['leo'], consents: ['cPark', 'cOrg'] },
    { name: "Mara's app (lab-results and imaging approved)", kind: 'patient', node: 'a', token: fixed(appToken), docs: ['d1a', 'd1b'], patients: ['mara'], consents: ['cRyu', 'cLee', 'cOpen', 'cApp'] },
    { name: 'Dr. Ryu (user/*.rs)', kind: 'user', node: 'a', token: scoped(a, 'ryu', 'user/*.rs'), docs: ['d1a', 'd1d', 'd2c'], patients: ['mara', 'leo'], consents: ['cRyu', 'cOrg'], agent: 'Practitioner/ryu' },
    { name: 'Dr. Park (user/*.rs)', kind: 'user', node: 'a', token: scoped(a, 'park', 'user/*.rs'), docs: ['d2b', 'd2c'], patients: ['leo'], consents: ['cPark', 'cOrg'], agent: 'Practitioner/park' },
    { name: 'Dr. Ryu launched with Leo (patient/*.rs)', kind: 'user', node: 'a', token: fixed(launchToken), docs: ['d2c'], patients: ['leo'], consents: ['cOrg'], agent: 'Practitioner/ryu' },
    { name: 'Dr. Lee at Hospital B (user/*.rs)', kind: 'user', node: 'b', token: scoped(net.b, 'lee', 'user/*.rs'), docs: ['d1a'], patients: ['mara'], consents: ['cLee'], agent: 'Practitioner/lee' },
    { name: 'openly registered backend (system/*.rs)', kind: 'system', node: 'a', token: () => systemToken('open', 'system/*.rs'), docs: ['d1b'], patients: ['mara'], consents: ['cOpen'], agent: `Device/${clients.open.client_id}` },
    { name: 'backend registered by Hospital A (system/*.rs)', kind: 'system', node: 'a', token: () => systemToken('org', 'system/*.rs'), docs: ['d2c'], patients: ['leo'], consents: ['cOrg'], agent: `Device/${clients.org.client_id}` },
  ];

  expect(callers.map((c) => c.name)).toEqual([...CALLER_NAMES]);
  return {
    net,
    ids,
    pseudonyms,
    docs,
    bytes,
    consents,
    clients,
    keys,
    callers,
    systemToken,
    node: (which) => net[which],
    stop: () => net.stop(),
  };
}

/** The FHIR id a patient has at a node: the local id at home, the pseudonym elsewhere. */
export function patientIdAt(world: LeakWorld, node: 'a' | 'b', patient: PatientKey): string {
  return node === 'a' ? world.ids[patient] : world.pseudonyms[patient];
}

/** A FHIR call that also checks what every FHIR response must carry: X-Ledger-Height. */
export async function call(base: string, token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fhir(base, token, method, path, body, headers);
  expect(res.headers.get('x-ledger-height'), `${method} ${path} → ${res.status} without X-Ledger-Height`).toMatch(/^\d+$/);
  return res;
}
