import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { issueIdentity } from '../devpeer/msp/ca.js';
import { createApp } from './app.js';
import { loadOrCreateSigningKey } from './auth/signing-key.js';
import { TokenService } from './auth/tokens.js';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import { RepositoryRegistry } from './fhir/registry.js';
import type { LedgerConfig } from './ledger/config.js';
import type { EmbeddedLedger } from './ledger/embedded.js';
import { openLedger, type OpenedLedger } from './ledger/open.js';
import { HospitalDirectory } from './membership/directory.js';
import { PatientDirectory } from './membership/patients.js';
import { Users, type HospitalCa } from './membership/users.js';
import { ConsentRepository } from './repositories/consent-repository.js';
import { AccessDecisions } from './decisions/access.js';
import { ScopeGuard } from './decisions/scope-guard.js';
import { ctxOf } from './fhir/router.js';
import { blobStoreFromEnv, DocumentStore, type BlobStore } from './documents/index.js';
import { binaryRoutes } from './repositories/binary-routes.js';
import { DocumentReferenceRepository } from './repositories/document-repository.js';
import { KeyHolders } from './repositories/key-holders.js';
import { keySharing, type KeySharing } from './repositories/key-sharing.js';
import { settle } from './repositories/ledger-read.js';
import { sweepOrphanBlobs } from './repositories/orphan-sweep.js';
import { ResourceStore } from './repositories/resource-store.js';
import { Enrollment } from './membership/enroll.js';
import { membershipRepositories } from './repositories/membership-repository.js';
import { AuditEventRepository } from './repositories/audit-event-repository.js';
import { createSmartServer, type SmartOptions, type SmartServer } from './smart/index.js';

export interface HospitalNodeOptions {
  /** folder name under dataDir, e.g. "hospitala" */
  name: string;
  mspId: string;
  port: number;
  /** public FHIR base, default http://localhost:<port>/fhir */
  baseUrl?: string;
  dataDir: string;
  databaseUrl?: string;
  ledger: LedgerConfig;
  /** the demo network's shared embedded peer */
  sharedPeer?: EmbeddedLedger;
  /** where encrypted content goes; default from BLOB_STORE/S3_* or <dataDir>/blobs */
  blobStore?: BlobStore;
  /** the CA that signs this hospital's ledger identities when the peer is not embedded */
  ca?: { certPem: string; keyPem: string };
  /** interface to listen on (default 127.0.0.1) */
  listenHost?: string;
  /** other hospitals' FHIR bases by MSP id */
  hospitals?: Record<string, string>;
  /** the SMART authorization server (registration open or behind an initial access token) */
  smart?: SmartOptions;
  log?: (msg: string) => void;
}

export interface HospitalNode {
  url: string;
  baseUrl: string;
  mspId: string;
  db: Database;
  ledger: OpenedLedger;
  users: Users;
  patients: PatientDirectory;
  tokens: TokenService;
  store: ResourceStore;
  documents: DocumentStore;
  hospitals: HospitalDirectory;
  enrollment: Enrollment;
  /** the SMART App Launch authorization server: verifyAccessToken, urls, launches, provider */
  smart: SmartServer;
  /** wrapped keys for grantees, shared demographics, the organization key */
  sharing: KeySharing;
  /** a bearer token for one of this hospital's users (what `npm run token` prints) */
  tokenFor(username: string, scope?: string): Promise<string>;
  stop(): Promise<void>;
}

/** One hospital's server process: its database, ledger client, accounts and FHIR API. Stateless itself. */
export async function startHospitalNode(opts: HospitalNodeOptions): Promise<HospitalNode> {
  const nodeDir = path.join(opts.dataDir, opts.name);
  const db = await openDatabase({ databaseUrl: opts.databaseUrl, dataDir: nodeDir });
  const ledger = await openLedger(opts.ledger, db, opts.mspId, opts.sharedPeer);
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.listenHost ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  const baseUrl = opts.baseUrl ?? `http://localhost:${port}/fhir`;
  fs.mkdirSync(nodeDir, { recursive: true });
  fs.writeFileSync(path.join(nodeDir, 'node.json'), JSON.stringify({ mspId: opts.mspId, baseUrl }, null, 2));
  const signingKey = await loadOrCreateSigningKey(path.join(nodeDir, 'keys'));
  const tokens = new TokenService(signingKey, baseUrl);
  const users = new Users(db, hospitalCa(opts.mspId, ledger, opts.ca));
  const patients = new PatientDirectory(db);
  const store = new ResourceStore(db);
  const admin = ledger.embedded?.adminOf(opts.mspId) ?? serviceUserOf(opts.ledger);
  const enrollment = new Enrollment(users, store, patients, ledger.client.consentry, admin);
  const hospitals = new HospitalDirectory({ mspId: opts.mspId, baseUrl }, opts.hospitals ?? {});
  const documents = new DocumentStore(opts.blobStore ?? blobStoreFromEnv(process.env, opts.dataDir));
  const keys = new KeyHolders(db, opts.mspId);
  const sharing = keySharing({ db, documents, keys, ledger: ledger.client, admin, log: opts.log ?? console.error });
  await sharing.start();
  const decisions = new AccessDecisions(db);
  const documentRefs = new DocumentReferenceRepository(db, ledger.client, decisions, documents, keys, patients, hospitals, sharing.granteeKeys);
  // scopes ∩ ledger: every repository interaction is narrowed by the token's scopes before the ledger decides
  const scopes = new ScopeGuard(db, patients);
  const registry = new RepositoryRegistry()
    .register(scopes.wrap(new ConsentRepository(db, ledger.client, patients, hospitals, sharing.granteeKeys)))
    .register(scopes.wrap(documentRefs))
    .register(scopes.wrap(new AuditEventRepository(db, ledger.client.projection, patients, hospitals)));
  for (const repo of membershipRepositories({ db, store, projection: ledger.client.projection, foreignDemographics: sharing.foreignDemographics, patientChanged: sharing.patientChanged })) registry.register(scopes.wrap(repo));
  const smart = await createSmartServer({ db, users, ledger: ledger.client, fhirBase: baseUrl, mspId: opts.mspId, keysDir: path.join(nodeDir, 'keys'), accessKey: signingKey, options: opts.smart, log: opts.log });
  const app = createApp({
    baseUrl,
    mspId: opts.mspId,
    registry,
    smart,
    serviceUser: admin,
    users,
    projection: ledger.client.projection,
    submitBatch: async (ctx, ops) => {
      const committed = await ledger.client.consentry.submitBatch(ctx.caller.ledgerUser, ops);
      await settle(ctx, ledger.client.projection, committed.blockNumber);
    },
    extraCapabilities: [{ type: 'Binary', interaction: [{ code: 'create' }, { code: 'read' }], documentation: 'Raw content streamed in and out (any Content-Type, up to 16 GiB), encrypted at rest; read only after the ledger allows it and the ciphertext hash matches the ledger' }],
    extraRoutes: (router) => {
      router.use('/Binary', scopes.binaryAccess(ctxOf));
      binaryRoutes({ db, documents, keys, docs: documentRefs, patients })(router);
    },
    log: opts.log,
  });
  server.on('request', app);
  const sweeper = setInterval(() => {
    sweepOrphanBlobs(db, documents).catch((err) => (opts.log ?? console.error)(`orphan sweep failed: ${err instanceof Error ? err.message : err}`));
  }, 3600_000);
  sweeper.unref();
  return {
    url: `http://localhost:${port}`,
    baseUrl,
    mspId: opts.mspId,
    db,
    ledger,
    users,
    patients,
    tokens,
    store,
    documents,
    hospitals,
    enrollment,
    smart,
    sharing,
    tokenFor: (username, scope) => tokens.issue({ sub: username, scope }),
    async stop() {
      clearInterval(sweeper);
      await sharing.stop();
      await smart.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ledger.close();
      await db.close();
    },
  };
}

/** The CA that signs this hospital's ledger identities: the embedded peer's org CA on the demo network. */
function hospitalCa(mspId: string, ledger: OpenedLedger, configured?: { certPem: string; keyPem: string }): HospitalCa {
  const embedded = ledger.embedded?.peer.orgs.find((o) => o.mspId === mspId)?.ca;
  const org = embedded ? { ca: embedded } : configured ? { ca: { mspId, ...configured } } : undefined;
  return {
    mspId,
    async issue(commonName, attrs) {
      if (!org) throw new Error('this node has no CA to enroll users with: set HOSPITAL_CA_CERT and HOSPITAL_CA_KEY');
      const id = await issueIdentity(org.ca, { commonName, ou: 'client', attrs });
      return { certPem: id.certPem, keyPem: id.keyPem };
    },
  };
}

function serviceUserOf(config: LedgerConfig) {
  if (config.mode !== 'fabric') throw new Error('no embedded peer and no service identity configured');
  return { mspId: config.serviceIdentity.mspId, certPem: config.serviceIdentity.certPem, privateKey: config.serviceIdentity.keyPem };
}
