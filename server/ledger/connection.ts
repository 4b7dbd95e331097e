import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, type Gateway, type Signer } from '@hyperledger/fabric-gateway';
import { CommitWatcher } from './commits.js';
import type { LedgerUser } from './identity.js';
import { newMessageSigner } from './signer.js';

export interface PeerEndpoint {
  endpoint: string;
  tlsRootCert?: string;
  hostAlias?: string;
}

const MAX_CACHED_GATEWAYS = 1_000;

/**
 * One gRPC channel to the peer, shared by a Gateway per acting user (each signs as that user).
 * Gateways are cheap wrappers, cached so a busy user does not re-parse their key per request.
 */
export class LedgerConnection {
  readonly client: grpc.Client;
  private readonly gateways = new Map<string, Gateway>();
  private readonly watchers = new Map<string, CommitWatcher>();

  constructor(peer: PeerEndpoint) {
    const credentials = peer.tlsRootCert
      ? grpc.credentials.createSsl(Buffer.from(peer.tlsRootCert))
      : grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 100 * 1024 * 1024,
      'grpc.max_send_message_length': 100 * 1024 * 1024,
      'grpc.keepalive_time_ms': 60_000,
      // channelz bookkeeping costs time on every call and nothing here reads it
      'grpc.enable_channelz': 0,
    };
    if (peer.hostAlias) options['grpc.ssl_target_name_override'] = peer.hostAlias;
    this.client = new grpc.Client(peer.endpoint, credentials, options);
  }

  gatewayFor(user: LedgerUser): Gateway {
    // The certificate itself is the key (a Map hashes it once per string; no digest per request).
    const key = `${user.mspId}\u0000${user.certPem}`;
    const cached = this.gateways.get(key);
    if (cached) {
      // refresh LRU position
      this.gateways.delete(key);
      this.gateways.set(key, cached);
      return cached;
    }
    const gateway = connect({
      client: this.client,
      identity: { mspId: user.mspId, credentials: Buffer.from(user.certPem) },
      signer: signerOf(user.privateKey),
      hash: hash.none,
      evaluateOptions: () => ({ deadline: Date.now() + 5_000 }),
      endorseOptions: () => ({ deadline: Date.now() + 15_000 }),
      submitOptions: () => ({ deadline: Date.now() + 5_000 }),
      commitStatusOptions: () => ({ deadline: Date.now() + 60_000 }),
    });
    this.gateways.set(key, gateway);
    if (this.gateways.size > MAX_CACHED_GATEWAYS) {
      const oldest = this.gateways.keys().next().value as string;
      this.gateways.get(oldest)?.close();
      this.gateways.delete(oldest);
    }
    return gateway;
  }

  /** Commit statuses of `channel` from a shared block stream (see CommitWatcher). */
  commits(channel: string): CommitWatcher {
    let watcher = this.watchers.get(channel);
    if (!watcher) {
      watcher = new CommitWatcher();
      this.watchers.set(channel, watcher);
    }
    return watcher;
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    for (const gateway of this.gateways.values()) gateway.close();
    this.gateways.clear();
    this.client.close();
  }
}

/** A key held in the vault is opened on the first signature (once per cached gateway), not on every request. */
function signerOf(key: LedgerUser['privateKey']): Signer {
  if (typeof key === 'string') return newMessageSigner(crypto.createPrivateKey(key));
  if (typeof key !== 'function') return newMessageSigner(key);
  let signer: Promise<Signer> | undefined;
  return async (message) => {
    signer ??= key().then(newMessageSigner);
    try {
      return await (await signer)(message);
    } catch (err) {
      signer = undefined; // a vault that was briefly unreachable is asked again next time
      throw err;
    }
  };
}
