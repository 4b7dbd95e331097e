import fs from 'node:fs';
import { startDevPeer, type DevPeer } from '../../devpeer/index.js';
import type { LedgerUser } from './identity.js';

/** The embedded single-node peer the demo network and tests run on, plus each hospital's admin identity. */
export interface EmbeddedLedger {
  peer: DevPeer;
  endpoint: string;
  adminOf(mspId: string): LedgerUser;
  stop(): Promise<void>;
}

export async function startEmbeddedLedger(opts: { dataDir: string; port?: number; channel?: string; chaincode?: string }): Promise<EmbeddedLedger> {
  const peer = await startDevPeer({ dataDir: opts.dataDir, host: '127.0.0.1', port: opts.port ?? 0, channel: opts.channel, chaincode: opts.chaincode });
  return {
    peer,
    endpoint: peer.endpoint,
    adminOf(mspId) {
      const org = peer.orgs.find((o) => o.mspId === mspId);
      if (!org) throw new Error(`the embedded peer has no organization ${mspId} (it has ${peer.orgs.map((o) => o.mspId).join(', ')})`);
      return { mspId, certPem: fs.readFileSync(org.adminCert, 'utf8'), privateKey: fs.readFileSync(org.adminKey, 'utf8') };
    },
    stop: () => peer.stop(),
  };
}
