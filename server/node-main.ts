// npm run node: one hospital node on its own (production): HOSPITAL_MSP, PORT, BASE_URL, DATABASE_URL,
// BLOB_STORE/S3_*, FABRIC_* (a real peer) or the embedded peer under DATA_DIR, HOSPITALS (other bases).
import fs from 'node:fs';
import path from 'node:path';
import { ledgerConfigFromEnv } from './ledger/config.js';
import { LocalKeyFile } from './membership/key-vault.js';
import { startHospitalNode } from './node.js';

async function main() {
  const mspId = process.env.HOSPITAL_MSP || 'HospitalAMSP';
  const dataDir = path.resolve(process.env.DATA_DIR || './data');
  const hospitals = process.env.HOSPITALS ? (JSON.parse(process.env.HOSPITALS) as Record<string, string>) : {};
  const node = await startHospitalNode({
    name: process.env.HOSPITAL_NAME || mspId.replace(/MSP$/, '').toLowerCase(),
    mspId,
    port: Number(process.env.PORT || 8080),
    baseUrl: process.env.BASE_URL,
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
    ledger: ledgerConfigFromEnv(),
    hospitals,
    listenHost: process.env.LISTEN_HOST,
    ca: process.env.HOSPITAL_CA_CERT && process.env.HOSPITAL_CA_KEY ? { certPem: fs.readFileSync(process.env.HOSPITAL_CA_CERT, 'utf8'), keyPem: fs.readFileSync(process.env.HOSPITAL_CA_KEY, 'utf8') } : undefined,
    // production enrolls practitioners only against a directory it was pointed at
    practitionerDirectory: process.env.PRACTITIONER_DIRECTORY || null,
    keyEncryption: process.env.KEY_ENCRYPTION_KEY_FILE ? LocalKeyFile.open(process.env.KEY_ENCRYPTION_KEY_FILE) : undefined,
  });
  console.log(`${mspId}: ${node.baseUrl}`);
  const shutdown = async () => {
    await node.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
