import type { Database } from '../db/database.js';
import type { LedgerConfig } from './config.js';
import { startEmbeddedLedger, type EmbeddedLedger } from './embedded.js';
import { connectLedger, type LedgerClient } from './index.js';

export interface OpenedLedger {
  client: LedgerClient;
  /** present when this process runs the embedded peer */
  embedded?: EmbeddedLedger;
  close(): Promise<void>;
}

/**
 * The one way the server reaches a ledger: the embedded devpeer (started here, on loopback) or a
 * real Fabric peer. Either way the client is @hyperledger/fabric-gateway signing as the acting user.
 */
export async function openLedger(config: LedgerConfig, db: Database, mspId: string, shared?: EmbeddedLedger): Promise<OpenedLedger> {
  if (config.mode === 'fabric') {
    const client = await connectLedger({
      config,
      endpoint: config.endpoint,
      tlsRootCert: config.tlsRootCert,
      hostAlias: config.hostAlias,
      db,
      serviceUser: { mspId: config.serviceIdentity.mspId, certPem: config.serviceIdentity.certPem, privateKey: config.serviceIdentity.keyPem },
    });
    return { client, close: () => client.close() };
  }
  const embedded = shared ?? (await startEmbeddedLedger({ dataDir: config.dataDir, port: config.peerPort, channel: config.channel, chaincode: config.chaincode }));
  const client = await connectLedger({ config, endpoint: embedded.endpoint, db, serviceUser: embedded.adminOf(mspId) });
  return {
    client,
    embedded,
    async close() {
      await client.close();
      if (!shared) await embedded.stop();
    },
  };
}
