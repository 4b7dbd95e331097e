// npm start: the demo network on the embedded defaults — one embedded peer, Hospital A and Hospital B.
import path from 'node:path';
import { ledgerConfigFromEnv } from './ledger/config.js';
import { startEmbeddedLedger } from './ledger/embedded.js';
import { startHospitalNode, type HospitalNode } from './node.js';

async function main() {
  const ledgerConfig = ledgerConfigFromEnv();
  const dataDir = path.resolve(process.env.DATA_DIR || './data');
  const sharedPeer = ledgerConfig.mode === 'embedded' ? await startEmbeddedLedger({ dataDir, port: ledgerConfig.peerPort }) : undefined;
  const basePort = Number(process.env.PORT || 8080);
  const nodes: HospitalNode[] = [];
  for (const [i, mspId] of ['HospitalAMSP', 'HospitalBMSP'].entries()) {
    const node = await startHospitalNode({ name: mspId.replace(/MSP$/, '').toLowerCase(), mspId, port: basePort + i, dataDir, ledger: ledgerConfig, sharedPeer });
    nodes.push(node);
    console.log(`${mspId}: ${node.url}/health (ledger height ${node.ledger.client.projection.height()})`);
  }
  if (sharedPeer) console.log(`embedded peer: ${sharedPeer.endpoint}, data in ${dataDir}`);
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
