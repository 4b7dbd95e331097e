import fs from 'node:fs';

/** Where the ledger is: the embedded devpeer (started by the server) or a real Fabric peer. */
export type LedgerConfig =
  | {
      mode: 'embedded';
      dataDir: string;
      channel: string;
      chaincode: string;
      /** 0 = ephemeral port on 127.0.0.1 */
      peerPort: number;
      maxLagBlocks: number;
      maxLagMs: number;
    }
  | {
      mode: 'fabric';
      endpoint: string;
      /** PEM of the TLS root CA; absent = plaintext (allowed only on loopback) */
      tlsRootCert?: string;
      hostAlias?: string;
      /** the hospital's own ledger identity (follows blocks, anchors audit logs) */
      serviceIdentity: { mspId: string; certPem: string; keyPem: string };
      channel: string;
      chaincode: string;
      maxLagBlocks: number;
      maxLagMs: number;
    };

export class ConfigError extends Error {}

export function ledgerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  const channel = env.FABRIC_CHANNEL || 'consentry';
  const chaincode = env.FABRIC_CHAINCODE || 'consentry';
  const maxLagBlocks = intSetting(env, 'LEDGER_MAX_LAG_BLOCKS', 10);
  const maxLagMs = intSetting(env, 'LEDGER_MAX_LAG_MS', 5_000);
  const endpoint = env.FABRIC_PEER_ENDPOINT;
  if (!endpoint) {
    return {
      mode: 'embedded',
      dataDir: env.DATA_DIR || './data',
      channel,
      chaincode,
      peerPort: intSetting(env, 'PEER_PORT', 0),
      maxLagBlocks,
      maxLagMs,
    };
  }
  const tlsPath = env.FABRIC_TLS_ROOT_CERT;
  const tlsRootCert = tlsPath ? fs.readFileSync(tlsPath, 'utf8') : undefined;
  if (!tlsRootCert && !isLoopback(endpoint)) {
    throw new ConfigError(`FABRIC_TLS_ROOT_CERT is required for a non-loopback peer (${endpoint})`);
  }
  const mspId = required(env, 'FABRIC_MSP_ID');
  const serviceIdentity = {
    mspId,
    certPem: fs.readFileSync(required(env, 'FABRIC_SERVICE_CERT'), 'utf8'),
    keyPem: fs.readFileSync(required(env, 'FABRIC_SERVICE_KEY'), 'utf8'),
  };
  return { mode: 'fabric', endpoint, tlsRootCert, hostAlias: env.FABRIC_PEER_HOST_ALIAS, serviceIdentity, channel, chaincode, maxLagBlocks, maxLagMs };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is required when FABRIC_PEER_ENDPOINT is set`);
  return value;
}

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function isLoopback(endpoint: string): boolean {
  const host = endpoint.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
