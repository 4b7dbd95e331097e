// npm start: the demo network on the embedded defaults — one embedded peer, one blob store,
// Hospital A on PORT (8080) and Hospital B on PORT+1, all data under DATA_DIR (./data).
import path from 'node:path';
import { seedDemo } from './demo/seed.js';
import { blobStoreFromEnv } from './documents/index.js';
import { ledgerConfigFromEnv } from './ledger/config.js';
import { startEmbeddedLedger } from './ledger/embedded.js';
import { startHospitalNode, type HospitalNode } from './node.js';

async function main() {
  const ledger = ledgerConfigFromEnv();
  const dataDir = path.resolve(process.env.DATA_DIR || './data');
  const sharedPeer = ledger.mode === 'embedded' ? await startEmbeddedLedger({ dataDir, port: ledger.peerPort }) : undefined;
  const blobStore = blobStoreFromEnv(process.env, dataDir);
  const port = Number(process.env.PORT || 8080);
  const base = (p: number) => `http://localhost:${p}/fhir`;
  const log = (m: string) => console.log(m);
  // the demo network: apps register themselves, and they (and their jwks_uri) live on localhost
  const smart = { openRegistration: process.env.SMART_OPEN_REGISTRATION !== 'false', allowPrivateFetch: process.env.SMART_ALLOW_PRIVATE_FETCH !== 'false' };
  // practitioners' NPIs are checked against the demo directory unless PRACTITIONER_DIRECTORY names another
  const common = { dataDir, ledger, sharedPeer, blobStore, smart, practitionerDirectory: process.env.PRACTITIONER_DIRECTORY || undefined, log: (m: string) => console.error(m) };
  const a = await startHospitalNode({ ...common, name: 'hospitala', mspId: 'HospitalAMSP', port, hospitals: { HospitalBMSP: base(port + 1) } });
  const b = await startHospitalNode({ ...common, name: 'hospitalb', mspId: 'HospitalBMSP', port: port + 1, hospitals: { HospitalAMSP: base(port) } });
  await seedDemo(a, b, log);
  for (const node of [a, b]) log(`${node.mspId}: ${node.baseUrl}  (ledger height ${node.ledger.client.projection.height()})`);
  if (sharedPeer) log(`embedded peer: ${sharedPeer.endpoint}; data in ${dataDir}`);
  log('demo accounts: see README.md; tokens: npm run token -- --hospital A --user mara');
  for (const node of [a, b]) log(`${node.mspId} SMART: ${node.smart.urls.smartConfiguration}  EHR page: ${node.smart.urls.ehr}`);
  const nodes: HospitalNode[] = [b, a];
  const shutdown = async () => {
    for (const node of nodes) await node.stop();
    await sharedPeer?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
