// npm run audit:verify -- --hospital A|B [--data DIR]   (DATABASE_URL: that hospital's PostgreSQL instead of PGlite)
// Recomputes every anchored batch of the hospital's read-access log and compares it with the Merkle root on the
// ledger, read through the gateway client (FABRIC_PEER_ENDPOINT and the service identity, or the embedded peer of
// DIR when it is not running). Prints one line per problem and exits 1 when a row was deleted or altered.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditAnchor } from '../../chaincode/src/records.js';
import { openDatabase } from '../db/open.js';
import { ledgerConfigFromEnv } from '../ledger/config.js';
import { LedgerConnection } from '../ledger/connection.js';
import { startEmbeddedLedger } from '../ledger/embedded.js';
import { LedgerRejectedError } from '../ledger/errors.js';
import type { LedgerUser } from '../ledger/identity.js';
import { LedgerTransactions } from '../ledger/transactions.js';
import { verifyAuditLog } from './verify.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { hospital: { type: 'string' }, data: { type: 'string' } } });
  if (!values.hospital) throw new Error('usage: npm run audit:verify -- --hospital A|B [--data DIR]');
  const letter = /^[A-Za-z]$/.test(values.hospital) ? values.hospital.toUpperCase() : values.hospital.replace(/^hospital/i, '').replace(/msp$/i, '').toUpperCase();
  const mspId = `Hospital${letter}MSP`;
  const dataDir = path.resolve(values.data ?? process.env.DATA_DIR ?? './data');
  const config = ledgerConfigFromEnv({ ...process.env, DATA_DIR: dataDir });
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: path.join(dataDir, `hospital${letter.toLowerCase()}`) });
  const embedded = config.mode === 'embedded' ? await startEmbeddedLedger({ dataDir, channel: config.channel, chaincode: config.chaincode }) : undefined;
  const endpoint = config.mode === 'fabric' ? { endpoint: config.endpoint, tlsRootCert: config.tlsRootCert, hostAlias: config.hostAlias } : { endpoint: embedded!.endpoint };
  const user: LedgerUser = config.mode === 'fabric' ? { mspId: config.serviceIdentity.mspId, certPem: config.serviceIdentity.certPem, privateKey: config.serviceIdentity.keyPem } : embedded!.adminOf(mspId);
  const connection = new LedgerConnection(endpoint);
  const tx = new LedgerTransactions(connection, config.channel, config.chaincode);
  try {
    const anchorOf = async (sequence: number): Promise<AuditAnchor | undefined> => {
      try {
        return JSON.parse(Buffer.from(await tx.evaluate(user, 'GetAuditAnchor', [mspId, String(sequence)])).toString('utf8')) as AuditAnchor;
      } catch (err) {
        if (err instanceof LedgerRejectedError && err.kind === 'not-found') return undefined;
        throw err;
      }
    };
    const result = await verifyAuditLog(db, anchorOf);
    for (const p of result.problems) console.log(`FAIL ${p.message}`);
    console.log(`${result.ok ? 'OK  ' : 'FAIL'} ${mspId}: ${result.batches} anchored batches, ${result.anchoredRows} rows proven on the ledger, ${result.pendingRows} not yet anchored, ${result.problems.length} problems`);
    return result.ok ? 0 : 1;
  } finally {
    connection.close();
    await embedded?.stop();
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
