// Public API of the embedded development peer: a single-node Fabric peer that @hyperledger/fabric-gateway
// clients talk to as to a Fabric 2.5 peer's gateway.
import type { CaMaterial, IdentityMaterial } from './msp/ca.js';
import { startPeer } from './peer.js';

export type { CaMaterial, IdentityMaterial };

export interface DevPeerOptions {
  dataDir: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: an ephemeral port */
  port?: number;
  /** default 'consentry' */
  channel?: string;
  /** default 'consentry' */
  chaincode?: string;
  /** default ['HospitalAMSP', 'HospitalBMSP'] */
  orgs?: string[];
  /** transactions per block at most (default 100) */
  blockMaxTx?: number;
  /**
   * the longest a block waits for more transactions (default 10 ms); it waits only while at least as many
   * transactions as it holds are still being endorsed or submitted, so a lone transaction is cut at once
   */
  blockTimeoutMs?: number;
  /** limit on a proposal's arguments plus transient data (default 1 MiB) */
  maxArgsBytes?: number;
  tls?: { certPem: string; keyPem: string };
  /** where log lines go; default stderr */
  log?: (message: string) => void;
}

export interface DevPeerOrg {
  mspId: string;
  /** file paths */
  caCert: string;
  adminCert: string;
  adminKey: string;
  ca: CaMaterial;
  admin: IdentityMaterial;
}

export interface DevPeer {
  /** host:port */
  endpoint: string;
  channel: string;
  chaincode: string;
  orgs: DevPeerOrg[];
  /** number of committed blocks, including the genesis block */
  height(): number;
  /** replaces an organization's CRL (it must be signed by that organization's CA); kept across restarts */
  setRevocationList(mspId: string, crlPem: string): Promise<void>;
  /** stops accepting requests, commits what was submitted, closes the ledger */
  stop(): Promise<void>;
}

export const DEFAULT_ORGS = ['HospitalAMSP', 'HospitalBMSP'];

export async function startDevPeer(opts: DevPeerOptions): Promise<DevPeer> {
  const peer = await startPeer({
    dataDir: opts.dataDir,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    channel: opts.channel ?? 'consentry',
    chaincode: opts.chaincode ?? 'consentry',
    orgs: opts.orgs ?? DEFAULT_ORGS,
    blockMaxTx: opts.blockMaxTx ?? 100,
    blockTimeoutMs: opts.blockTimeoutMs ?? 10,
    blockMaxBytes: 8 * 1024 * 1024,
    maxArgsBytes: opts.maxArgsBytes ?? 1024 * 1024,
    tls: opts.tls,
    log: opts.log ?? ((message) => process.stderr.write(`[devpeer] ${message}\n`)),
  });
  return {
    endpoint: peer.endpoint,
    channel: peer.channel,
    chaincode: peer.chaincode,
    orgs: peer.orgs.map((org) => ({
      mspId: org.mspId,
      caCert: org.paths.caCert,
      adminCert: org.paths.adminCert,
      adminKey: org.paths.adminKey,
      ca: org.ca,
      admin: org.admin,
    })),
    height: () => peer.ledger.height(),
    setRevocationList: (mspId, crlPem) => peer.setRevocationList(mspId, crlPem),
    stop: () => peer.stop(),
  };
}
