import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announcedCa, freePort, spawnDevPeer, type DevPeerProcess } from '../../devpeer/spawn.js';
import { verifyAuditLog } from '../../server/audit/index.js';
import { LedgerRejectedError } from '../../server/ledger/errors.js';
import { ledgerConfigFromEnv } from '../../server/ledger/config.js';
import { startHospitalNode, type HospitalNode } from '../../server/node.js';
import { tempDir } from '../support/ledger.js';
import { fhir } from '../support/network.js';
import { createScratchDatabase } from '../support/postgres.js';
import { consentBody, documentBody } from '../support/seed-scenario.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * Server processes keep no state of their own: two processes of Hospital A (this test process and a
 * child) on one PostgreSQL, one blob store and one peer answer every request the same way.
 */
describe('two processes of one hospital', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let peer: DevPeerProcess;
  let inProcess: HospitalNode;
  let child: ChildProcess;
  let childBase: string;
  const dataDir = tempDir('stateless');
  const env: Record<string, string> = {};

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    peer = await spawnDevPeer({ dataDir: path.join(dataDir, 'peer') });
    const org = peer.info.orgs.find((o) => o.mspId === 'HospitalAMSP')!;
    const ca = announcedCa(org);
    fs.writeFileSync(path.join(dataDir, 'ca-key.pem'), ca.keyPem);
    const baseUrl = 'http://hospital-a.test/fhir'; // one logical hospital behind a load balancer
    Object.assign(env, {
      HOSPITAL_MSP: 'HospitalAMSP',
      BASE_URL: baseUrl,
      DATA_DIR: dataDir,
      DATABASE_URL: scratch.url,
      BLOB_STORE: 'fs',
      BLOB_DIR: path.join(dataDir, 'blobs'),
      FABRIC_PEER_ENDPOINT: peer.info.endpoint,
      FABRIC_MSP_ID: 'HospitalAMSP',
      FABRIC_SERVICE_CERT: org.adminCert,
      FABRIC_SERVICE_KEY: org.adminKey,
      HOSPITAL_CA_CERT: org.caCert,
      HOSPITAL_CA_KEY: path.join(dataDir, 'ca-key.pem'),
    });
    inProcess = await startHospitalNode({
      name: 'hospitala',
      mspId: 'HospitalAMSP',
      port: 0,
      baseUrl,
      dataDir,
      databaseUrl: scratch.url,
      ledger: ledgerConfigFromEnv(env),
      ca: { certPem: ca.certPem, keyPem: ca.keyPem },
      log: () => undefined,
    });
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'server/node-main.ts'], { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`second process did not start\n${stderr}`)), 60_000);
      readline.createInterface({ input: child.stdout! }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`second process exited ${code}\n${stderr}`)));
    });
    childBase = `http://localhost:${port}/fhir`;
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await inProcess?.stop();
    await peer?.stop();
    await scratch?.drop();
  });

  it('a write through either process is read identically through the other', async () => {
    const patient = await inProcess.enrollment.enrollPatient({ username: 'mara', password: 'pw', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794' });
    await inProcess.enrollment.enrollPractitioner({ username: 'ryu', password: 'pw', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893' });
    const maraToken = await inProcess.tokenFor('mara');
    const ryuToken = await inProcess.tokenFor('ryu');
    const inBase = inProcess.baseUrl.replace('http://hospital-a.test', inProcess.url);

    // the child follows the same blocks on its own; let it see the enrollments before using them there
    const target = inProcess.ledger.client.projection.height();
    for (let i = 0; i < 100; i++) {
      const health = (await (await fetch(childBase.replace(/\/fhir$/, '/health'))).json()) as { replicaHeight?: number };
      if ((health.replicaHeight ?? 0) >= target) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const consent = await fhir(childBase, maraToken, 'POST', 'Consent', consentBody(patient.patientId, 'Practitioner/ryu', ['lab-results'], ['access', 'correct']));
    expect(consent.status, consent.text).toBe(201);
    const viaInProcess = await fhir(inBase, ryuToken, 'GET', `Consent/${consent.body!.id}`);
    expect(viaInProcess.status).toBe(200);
    expect(viaInProcess.body).toEqual(consent.body);

    const doc = await fhir(inBase, ryuToken, 'POST', 'DocumentReference', documentBody(patient.patientId, 'lab-results', '11502-2', { data: Buffer.from('hemoglobin 11.2 g/dL'), contentType: 'text/plain' }));
    expect(doc.status, doc.text).toBe(201);
    const fromChild = await fetch(`${childBase}/Binary/${doc.body!.id}`, { headers: { authorization: `Bearer ${maraToken}` } });
    expect(fromChild.status).toBe(200);
    expect(await fromChild.text()).toBe('hemoglobin 11.2 g/dL');

    const searchA = await fhir(inBase, maraToken, 'GET', `DocumentReference?subject=Patient/${patient.patientId}`);
    const searchB = await fhir(childBase, maraToken, 'GET', `DocumentReference?subject=Patient/${patient.patientId}`);
    expect(searchB.body!.total).toBe(1);
    expect(searchB.body!.entry[0].resource).toEqual(searchA.body!.entry[0].resource);
    const events = await inProcess.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_events WHERE patient = $1', [patient.pseudonym]);
    expect(events.rows[0].n).toBe(3); // registered, granted, document added: each applied exactly once
  });

  it('reads served by either process are anchored once each, and audit:verify proves every row', async () => {
    const logged = Number((await inProcess.db.query<{ n: string }>('SELECT count(*)::text AS n FROM read_access_log')).rows[0].n);
    expect(logged).toBeGreaterThan(0);
    const admin = { mspId: 'HospitalAMSP', certPem: fs.readFileSync(env.FABRIC_SERVICE_CERT, 'utf8'), privateKey: fs.readFileSync(env.FABRIC_SERVICE_KEY, 'utf8') };
    const anchorOf = async (sequence: number) => {
      try {
        return JSON.parse(Buffer.from(await inProcess.ledger.client.transactions.evaluate(admin, 'GetAuditAnchor', ['HospitalAMSP', String(sequence)])).toString('utf8'));
      } catch (err) {
        if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
        throw err;
      }
    };
    // the child anchors in the background too: whichever process wins a sequence, every row ends up in exactly one batch
    let result = await verifyAuditLog(inProcess.db, anchorOf);
    for (let i = 0; i < 50 && result.pendingRows > 0; i++) {
      await inProcess.audit.anchoring.anchorAll();
      result = await verifyAuditLog(inProcess.db, anchorOf);
    }
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.anchoredRows).toBe(logged);
  });
});
