// `npm run devpeer -- [--data DIR]`: runs the development peer until SIGINT/SIGTERM. The first stdout line
// is one JSON object telling any Fabric client how to connect; log lines go to stderr.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startDevPeer } from './index.js';

function fail(message: string): never {
  process.stderr.write(`devpeer: ${message}\n`);
  process.exit(2);
}

/** A non-negative integer setting from the environment, or undefined (the peer's default). */
function optionalInt(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) fail(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string', default: './data' } }, allowPositionals: false });
  const port = Number(process.env.PEER_PORT ?? 7051);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PEER_PORT must be a port number, got "${process.env.PEER_PORT}"`);
  const certFile = process.env.PEER_TLS_CERT;
  const keyFile = process.env.PEER_TLS_KEY;
  if (Boolean(certFile) !== Boolean(keyFile)) fail('set both PEER_TLS_CERT and PEER_TLS_KEY, or neither');
  const blockMaxTx = optionalInt('PEER_BLOCK_MAX_TX', 100);
  const blockTimeoutMs = optionalInt('PEER_BLOCK_TIMEOUT_MS', 10);
  const tls = certFile && keyFile ? { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') } : undefined;

  const peer = await startDevPeer({
    dataDir: path.resolve(values.data ?? './data'),
    host: process.env.PEER_HOST ?? '127.0.0.1',
    port,
    tls,
    blockMaxTx,
    blockTimeoutMs,
  });
  process.stdout.write(
    `${JSON.stringify({
      endpoint: peer.endpoint,
      channel: peer.channel,
      chaincode: peer.chaincode,
      orgs: peer.orgs.map((org) => ({ mspId: org.mspId, caCert: org.caCert, adminCert: org.adminCert, adminKey: org.adminKey })),
    })}\n`,
  );
  process.stderr.write(`[devpeer] serving channel ${peer.channel} on ${peer.endpoint}${tls ? ' (TLS)' : ''}, height ${peer.height()}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[devpeer] ${signal}: committing queued transactions and closing the ledger\n`);
    peer.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[devpeer] shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
