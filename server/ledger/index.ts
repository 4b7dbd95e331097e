import type { Database } from '../db/database.js';
import { LedgerConnection } from './connection.js';
import type { LedgerConfig } from './config.js';
import { ConsentryLedger } from './consentry.js';
import type { LedgerUser } from './identity.js';
import { LedgerProjection } from './projection.js';
import { LedgerTransactions } from './transactions.js';

export { ledgerConfigFromEnv, type LedgerConfig } from './config.js';
export { LedgerRejectedError, LedgerUnavailableError } from './errors.js';
export type { LedgerUser } from './identity.js';
export { ConsentryLedger } from './consentry.js';
export { LedgerProjection } from './projection.js';

/** The server's one ledger client: typed chaincode calls plus the projection it decides on. */
export interface LedgerClient {
  readonly consentry: ConsentryLedger;
  readonly transactions: LedgerTransactions;
  readonly projection: LedgerProjection;
  readonly connection: LedgerConnection;
  close(): Promise<void>;
}

/**
 * Connects to a peer (the embedded devpeer's endpoint or a real Fabric peer) and starts following
 * blocks as `serviceUser` (the hospital's own ledger identity).
 */
export async function connectLedger(opts: {
  config: LedgerConfig;
  endpoint: string;
  tlsRootCert?: string;
  hostAlias?: string;
  db: Database;
  serviceUser: LedgerUser;
}): Promise<LedgerClient> {
  const { config } = opts;
  const connection = new LedgerConnection({ endpoint: opts.endpoint, tlsRootCert: opts.tlsRootCert, hostAlias: opts.hostAlias });
  const transactions = new LedgerTransactions(connection, config.channel, config.chaincode);
  const network = connection.gatewayFor(opts.serviceUser).getNetwork(config.channel);
  const projection = new LedgerProjection(opts.db, network, {
    channel: config.channel,
    chaincode: config.chaincode,
    maxLagBlocks: config.maxLagBlocks,
    maxLagMs: config.maxLagMs,
  });
  await projection.start();
  return {
    consentry: new ConsentryLedger(transactions),
    transactions,
    projection,
    connection,
    async close() {
      await projection.stop();
      connection.close();
    },
  };
}
