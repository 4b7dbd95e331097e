// bench:auth's server process: an embedded peer and Hospital A as `npm start` runs it (PGlite, open
// registration), with one patient to authorize apps. Tells its parent where it listens, then serves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedLedger } from '../../server/ledger/embedded.js';
import { startHospitalNode } from '../../server/node.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-bench-auth-'));
const peer = await startEmbeddedLedger({ dataDir });
const node = await startHospitalNode({
  name: 'hospitala',
  mspId: 'HospitalAMSP',
  port: 0,
  dataDir,
  databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
  ledger: { mode: 'embedded', dataDir, channel: 'consentry', chaincode: 'consentry', peerPort: 0, maxLagBlocks: 10, maxLagMs: 5_000 },
  sharedPeer: peer,
  smart: { openRegistration: true },
  log: (m) => process.stderr.write(`[server] ${m}\n`),
});
await node.enrollment.enrollPatient({ username: 'bench-patient', password: 'bench-pw', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' });

const stop = async () => {
  await node.stop();
  await peer.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('disconnect', () => void stop());
process.send?.({ url: node.url, baseUrl: node.baseUrl, urls: node.smart.urls, databaseKind: node.db.kind });
