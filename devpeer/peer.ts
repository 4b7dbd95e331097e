// Assembles a single-node Fabric peer: organization MSPs (one CA, admin and peer identity each), the
// channel ledger, the in-process chaincode runtime, the solo orderer, and the gateway gRPC server.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { contracts as consentryContracts } from '../chaincode/src/index.js';
import { gatewayService, gatewayServiceDefinition } from './gateway/service.js';
import { deliverService, deliverServiceDefinition } from './gateway/deliver.js';
import type { GatewayContext } from './gateway/context.js';
import { PeerEndorsers } from './gateway/endorsers.js';
import { CommitNotifier } from './gateway/notifier.js';
import { SubmitPipeline } from './gateway/pipeline.js';
import { ledgerDir } from './ledger/layout.js';
import { openLedger, type FileLedger } from './ledger/ledger.js';
import { MspRegistry } from './msp/msp.js';
import { ensureOrganizations, saveRevocationList, type OrgMaterial } from './msp/orgs.js';
import { Orderer } from './orderer/orderer.js';
import { ContractRuntime } from './runtime/chaincode.js';
import { Endorser } from './runtime/endorser.js';
import { Signer } from './runtime/signer.js';

export interface PeerConfig {
  dataDir: string;
  host: string;
  port: number;
  channel: string;
  chaincode: string;
  orgs: string[];
  blockMaxTx: number;
  blockTimeoutMs: number;
  blockMaxBytes: number;
  maxArgsBytes: number;
  tls?: { certPem: string; keyPem: string };
  /** contract classes run as the chaincode; the consentry contracts by default */
  contracts?: unknown[];
  log(message: string): void;
}

export interface RunningPeer {
  endpoint: string;
  channel: string;
  chaincode: string;
  orgs: OrgMaterial[];
  ledger: FileLedger;
  /**
   * The organization's new CRL (signed by its CA): identities it lists are refused from now on, cached or not,
   * and after a restart (kept as <msp>/crl.pem). Fabric's counterpart is the channel MSP's revocation_list.
   */
  setRevocationList(mspId: string, crlPem: string): Promise<void>;
  stop(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 1_000;

function chaincodeInfo(): { title: string; version: string } {
  const pkg = JSON.parse(readFileSync(new URL('../chaincode/package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { title: pkg.name, version: pkg.version };
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startPeer(config: PeerConfig): Promise<RunningPeer> {
  const orgs = await ensureOrganizations(path.join(config.dataDir, 'devpeer', 'msp'), config.orgs);
  const msp = new MspRegistry(orgs.map((org) => ({ mspId: org.mspId, caCertPem: org.ca.certPem, crlPem: org.crlPem })));
  const ledger = await openLedger({
    dir: ledgerDir(config.dataDir, config.channel),
    channel: config.channel,
    mspIds: config.orgs,
    log: (message) => config.log(`ledger: ${message}`),
  });

  try {
    const info = chaincodeInfo();
    const runtime = new ContractRuntime(config.contracts ?? consentryContracts, info);
    const endorser = new Endorser(ledger, runtime, config.chaincode, info.version);
    const endorsers = new PeerEndorsers(new Map(orgs.map((org) => [org.mspId, new Signer(org.mspId, org.peer.certPem, org.peer.keyPem)])), msp);
    const notifier = new CommitNotifier(ledger);
    const pipeline = new SubmitPipeline();
    const orderer = new Orderer({
      maxTx: config.blockMaxTx,
      timeoutMs: config.blockTimeoutMs,
      maxBytes: config.blockMaxBytes,
      incoming: () => pipeline.incoming(),
      commit: (envelopes) => ledger.commitBlock(envelopes),
      onBlock: (block) => notifier.blockCommitted(block),
      onFailure: (err) => {
        config.log(`orderer: committing a block failed, no further transactions are accepted: ${err instanceof Error ? err.message : String(err)}`);
        notifier.failed(err instanceof Error ? err : new Error(String(err)));
      },
    });
    pipeline.whenSettled(() => orderer.reconsider());

    let endpoint = `${config.host}:${config.port}`;
    let closing = false;
    const ctx: GatewayContext = {
      channel: config.channel,
      chaincode: config.chaincode,
      address: () => endpoint,
      msp,
      ledger,
      endorser,
      endorsers,
      orderer,
      pipeline,
      notifier,
      maxArgsBytes: config.maxArgsBytes,
      maxEnvelopeBytes: Math.max(config.blockMaxBytes, config.maxArgsBytes + 1024 * 1024),
      closing: () => closing,
      log: config.log,
    };

    const server = new grpc.Server({
      'grpc.max_receive_message_length': Math.max(4 * 1024 * 1024, 2 * config.maxArgsBytes + 1024 * 1024),
      // channelz bookkeeping costs time on every call and nothing here reads it
      'grpc.enable_channelz': 0,
    });
    server.addService(gatewayServiceDefinition, gatewayService(ctx));
    server.addService(deliverServiceDefinition, deliverService(ctx));
    const creds = config.tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(config.tls.certPem), private_key: Buffer.from(config.tls.keyPem) }], false)
      : grpc.ServerCredentials.createInsecure();
    const port = await bind(server, `${config.host}:${config.port}`, creds);
    endpoint = `${config.host}:${port}`;

    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      channel: config.channel,
      chaincode: config.chaincode,
      orgs,
      ledger,
      async setRevocationList(mspId, crlPem) {
        const org = orgs.find((o) => o.mspId === mspId);
        if (!org) throw new Error(`the peer has no organization ${mspId}`);
        msp.setRevocationList(mspId, crlPem);
        await saveRevocationList(org, crlPem);
      },
      stop: () => {
        stopped ??= (async () => {
          closing = true;
          notifier.wakeListeners();
          const serverDown = shutdown(server);
          await orderer.stop();
          await serverDown;
          await ledger.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await ledger.close();
    throw err;
  }
}
