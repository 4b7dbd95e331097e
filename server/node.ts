import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createApp } from './app.js';
import { expressHttpClasses } from './http-classes.js';
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
import { Users } from './membership/users.js';
import { hospitalCa } from './membership/hospital-ca.js';
import { KeyVault, LocalKeyFile, type KeyEncryptionService } from './membership/key-vault.js';
import { membershipOperations } from './membership/operations.js';
import { DEMO_PRACTITIONER_DIRECTORY, practitionerDirectory, type PractitionerDirectory } from './membership/practitioner-directory.js';
import { Revocations } from './membership/revocation.js';
import { sealPlaintextKeys } from './membership/seal-keys.js';
import { ConsentRepository } from './repositories/consent-repository.js';
import { AccessDecisions } from './decisions/access.js';
import { ScopeGuard } from './decisions/scope-guard.js';
import { ctxOf } from './fhir/router.js';
import { blobStoreFromEnv, DocumentStore, type BlobStore } from './documents/index.js';
import { binaryRoutes } from './repositories/binary-routes.js';
import { keyOperationRoutes } from './repositories/key-operation-routes.js';
import { KeyRotation } from './repositories/key-rotation.js';
import { PatientErasure } from './repositories/patient-erasure.js';
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
import { auditServices, type AuditServices } from './audit/index.js';
import { breakGlassRoutes } from './emergency/break-glass.js';
import { registerPortalClients, type PortalClient, type PortalKind } from './web/clients.js';
import { portalRoutes } from './web/routes.js';
import { ledgerStatusRoute } from './web/ledger-status.js';

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
  /** how often the read-access log is anchored on the ledger (default AUDIT_ANCHOR_INTERVAL_MS or 2 s) */
  auditAnchorIntervalMs?: number;
  /**
   * where practitioners' NPIs are looked up at enrollment: a JSON file or URL (see practitioner-directory.ts);
   * default the demo directory; null: none (no practitioner can be enrolled)
   */
  practitionerDirectory?: string | PractitionerDirectory | null;
  /** the key-encryption key private keys are sealed under; default a key file <dataDir>/<name>/keys/key-encryption-key */
  keyEncryption?: KeyEncryptionService;
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
  /** the hospital CA's revocation list: revoke a user (account, tokens, ledger identity) */
  revocations: Revocations;
  /** private keys at rest, sealed under the hospital's key-encryption key */
  vault: KeyVault;
  /** the read-access log's anchoring on the ledger and the disclosures exchanged with other hospitals */
  audit: AuditServices;
  /** the web portals' SMART clients (server/web) */
  portals: Record<PortalKind, PortalClient>;
  /** a bearer token for one of this hospital's users (what `npm run token` prints) */
  tokenFor(username: string, scope?: string): Promise<string>;
  stop(): Promise<void>;
}

/** One hospital's server process: its database, ledger client, accounts and FHIR API. Stateless itself. */
export async function startHospitalNode(opts: HospitalNodeOptions): Promise<HospitalNode> {
  const nodeDir = path.join(opts.dataDir, opts.name);
  const db = await openDatabase({ databaseUrl: opts.databaseUrl, dataDir: nodeDir, log: opts.log });
  const ledger = await openLedger(opts.ledger, db, opts.mspId, opts.sharedPeer);
  const httpClasses = expressHttpClasses();
  const server = http.createServer(httpClasses.serverOptions);
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
  const vault = new KeyVault(opts.keyEncryption ?? LocalKeyFile.open(path.join(nodeDir, 'keys', 'key-encryption-key')));
  await sealPlaintextKeys(db, vault);
  const embeddedCa = ledger.embedded?.peer.orgs.find((o) => o.mspId === opts.mspId)?.ca;
  const ca = hospitalCa({ mspId: opts.mspId, ca: embeddedCa ?? (opts.ca ? { mspId: opts.mspId, ...opts.ca } : undefined), crlDir: path.join(nodeDir, 'ca'), peer: ledger.embedded?.peer });
  const users = new Users(db, ca, vault);
  const revocations = new Revocations(db, ca);
  await revocations.publishCurrent();
  const patients = new PatientDirectory(db);
  const store = new ResourceStore(db);
  const admin = ledger.embedded?.adminOf(opts.mspId) ?? serviceUserOf(opts.ledger);
  const directory = opts.practitionerDirectory === null ? undefined : typeof opts.practitionerDirectory === 'object' ? opts.practitionerDirectory : practitionerDirectory(opts.practitionerDirectory ?? DEMO_PRACTITIONER_DIRECTORY);
  const enrollment = new Enrollment(users, store, patients, ledger.client.consentry, admin, directory);
  const hospitals = new HospitalDirectory({ mspId: opts.mspId, baseUrl }, opts.hospitals ?? {});
  const documents = new DocumentStore(opts.blobStore ?? blobStoreFromEnv(process.env, opts.dataDir));
  const keys = new KeyHolders(db, opts.mspId, vault);
  const sharing = keySharing({ db, documents, keys, ledger: ledger.client, admin, log: opts.log ?? console.error });
  await sharing.start();
  const audit = auditServices({ db, ledger: ledger.client, admin, mspId: opts.mspId, blobs: documents.blobs, keys, intervalMs: opts.auditAnchorIntervalMs, log: opts.log ?? console.error });
  const decisions = new AccessDecisions(db);
  const documentRefs = new DocumentReferenceRepository(db, ledger.client, decisions, documents, keys, patients, hospitals, sharing.granteeKeys);
  // scopes ∩ ledger: every repository interaction is narrowed by the token's scopes before the ledger decides
  const scopes = new ScopeGuard(db, patients);
  const registry = new RepositoryRegistry()
    .register(scopes.wrap(new ConsentRepository(db, ledger.client, patients, hospitals, sharing.granteeKeys)))
    .register(scopes.wrap(documentRefs))
    .register(scopes.wrap(new AuditEventRepository(db, ledger.client.projection, patients, hospitals, (p) => audit.disclosures.importFor(p))));
  for (const repo of membershipRepositories({ db, store, projection: ledger.client.projection, foreignDemographics: sharing.foreignDemographics, patientChanged: sharing.patientChanged })) registry.register(scopes.wrap(repo));
  const smart = await createSmartServer({ db, users, ledger: ledger.client, fhirBase: baseUrl, mspId: opts.mspId, keysDir: path.join(nodeDir, 'keys'), accessKey: signingKey, options: opts.smart, log: opts.log });
  const portals: { clients?: Record<PortalKind, PortalClient> } = {};
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
      membershipOperations({ users, enrollment, revocations, store, ctxOf })(router);
      ledgerStatusRoute({ db, projection: ledger.client.projection, ledgerDir: ledger.embedded ? path.join(opts.dataDir, 'devpeer', 'ledger', ledger.embedded.peer.channel) : undefined })(router);
      router.use('/Binary', scopes.binaryAccess(ctxOf));
      binaryRoutes({ db, documents, keys, docs: documentRefs, patients })(router);
      const rotation = new KeyRotation({ db, ledger: ledger.client, documents, keys, patients, granteeKeys: sharing.granteeKeys, log: opts.log ?? console.error });
      keyOperationRoutes({ rotation, erasure: new PatientErasure({ db, ledger: ledger.client, documents, patients }), scopes })(router);
      breakGlassRoutes({ db, ledger: ledger.client, patients, documents, scopes, readConsent: (ctx, id) => registry.get('Consent').read!(ctx, id) })(router);
    },
    portals: portalRoutes({ clients: () => portals.clients, fhirBase: baseUrl, mspId: opts.mspId, hospitals: () => hospitals.all(), ehrUrl: smart.urls.ehr }),
    log: opts.log,
  });
  httpClasses.adopt(app);
  server.on('request', smart.requestListener(app));
  audit.anchoring.start();
  // the portals register like any SMART app, through this node's own registration endpoint
  portals.clients = await registerPortalClients({ db, origin: new URL(baseUrl).origin, registerUrl: `http://127.0.0.1:${port}${new URL(smart.urls.register).pathname}`, initialAccessToken: smart.initialAccessToken });
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
    revocations,
    vault,
    audit,
    portals: portals.clients,
    tokenFor: (username, scope) => tokens.issue({ sub: username, scope }),
    async stop() {
      clearInterval(sweeper);
      await audit.anchoring.stop();
      await sharing.stop();
      await smart.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ledger.close();
      await db.close();
    },
  };
}

function serviceUserOf(config: LedgerConfig) {
  if (config.mode !== 'fabric') throw new Error('no embedded peer and no service identity configured');
  return { mspId: config.serviceIdentity.mspId, certPem: config.serviceIdentity.certPem, privateKey: config.serviceIdentity.keyPem };
}
