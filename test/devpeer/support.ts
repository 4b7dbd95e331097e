// Test helpers: a devpeer on a temporary folder and fabric-gateway clients for identities its CAs issue.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers, type Gateway, type Identity, type Signer } from '@hyperledger/fabric-gateway';
import { issueIdentity, type CaMaterial } from '../../devpeer/msp/ca.js';
import { startPeer, type PeerConfig, type RunningPeer } from '../../devpeer/peer.js';

export async function tempDir(prefix = 'devpeer-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestPeer extends RunningPeer {
  dataDir: string;
  logs: string[];
  caOf(mspId: string): CaMaterial;
}

export async function startTestPeer(overrides: Partial<PeerConfig> = {}): Promise<TestPeer> {
  const dataDir = overrides.dataDir ?? (await tempDir());
  const logs: string[] = [];
  const peer = await startPeer({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    channel: 'consentry',
    chaincode: 'consentry',
    orgs: ['HospitalAMSP', 'HospitalBMSP'],
    blockMaxTx: 100,
    blockTimeoutMs: 2,
    blockMaxBytes: 8 * 1024 * 1024,
    maxArgsBytes: 1024 * 1024,
    log: (line) => logs.push(line),
    ...overrides,
  });
  return {
    ...peer,
    dataDir,
    logs,
    caOf: (mspId) => {
      const org = peer.orgs.find((o) => o.mspId === mspId);
      if (!org) throw new Error(`no org ${mspId}`);
      return org.ca;
    },
  };
}

export interface User {
  identity: Identity;
  signer: Signer;
  certPem: string;
  keyPem: string;
}

export async function newUser(ca: CaMaterial, commonName: string, attrs: Record<string, string> = {}): Promise<User> {
  const material = await issueIdentity(ca, { commonName, ou: 'client', attrs });
  return userFrom(material.mspId, material.certPem, material.keyPem);
}

export function userFrom(mspId: string, certPem: string, keyPem: string): User {
  return {
    identity: { mspId, credentials: Buffer.from(certPem) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(keyPem)),
    certPem,
    keyPem,
  };
}

export interface Connection {
  gateway: Gateway;
  client: grpc.Client;
  close(): void;
}

export function connectUser(endpoint: string, user: Pick<User, 'identity' | 'signer'>): Connection {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const gateway = connect({ client, identity: user.identity, signer: user.signer, hash: hash.sha256 });
  return {
    gateway,
    client,
    close: () => {
      gateway.close();
      client.close();
    },
  };
}

export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
