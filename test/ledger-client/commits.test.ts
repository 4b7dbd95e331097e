// The ledger client learns commit statuses from one filtered-block stream instead of a signed CommitStatus
// call per transaction, and falls back to CommitStatus whenever the stream cannot vouch for a transaction.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevPeer, type DevPeer } from '../../devpeer/index.js';
import { LedgerConnection } from '../../server/ledger/connection.js';
import { ConsentryLedger } from '../../server/ledger/consentry.js';
import type { LedgerUser } from '../../server/ledger/identity.js';
import { LedgerTransactions } from '../../server/ledger/transactions.js';

const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const COMMIT_STATUS = '/gateway.Gateway/CommitStatus';

describe('commit statuses from the block stream', () => {
  let dataDir: string;
  let peer: DevPeer;
  let connection: LedgerConnection;
  let ledger: ConsentryLedger;
  let admin: LedgerUser;
  const calls: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-commits-'));
    // a block waits 20 ms for more transactions, so that concurrent submits share one
    peer = await startDevPeer({ dataDir, blockTimeoutMs: 20, log: () => undefined });
    const org = peer.orgs[0];
    admin = { mspId: org.mspId, certPem: org.admin.certPem, privateKey: org.admin.keyPem };
    connection = new LedgerConnection({ endpoint: peer.endpoint });
    // Record every unary method the client calls.
    const client = connection.client as unknown as { makeUnaryRequest: (method: string, ...rest: unknown[]) => unknown };
    const unary = client.makeUnaryRequest.bind(client);
    client.makeUnaryRequest = (method: string, ...rest: unknown[]) => {
      calls.push(method);
      return unary(method, ...rest);
    };
    ledger = new ConsentryLedger(new LedgerTransactions(connection, peer.channel, peer.chaincode));
  });

  afterAll(async () => {
    connection?.close();
    await peer?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function blockOf(txId: string): Promise<number> {
    const qscc = connection.gatewayFor(admin).getNetwork(peer.channel).getContract('qscc');
    const block = common.Block.deserializeBinary(await qscc.evaluateTransaction('GetBlockByTxID', peer.channel, txId));
    return block.getHeader()!.getNumber();
  }

  async function register(): Promise<{ transactionId: string; blockNumber: number }> {
    return ledger.registerPatient(admin, { pseudonym: crypto.randomBytes(32).toString('hex'), encryptionKey: KEY });
  }

  it('needs no CommitStatus call once the stream is live, and reports the committing block', async () => {
    // The first submit opens the stream; it is live once it has delivered a block (opening it may take longer
    // than a few commits on a busy machine, so keep committing blocks until it has, within a bound).
    for (const deadline = Date.now() + 15_000; !connection.commits(peer.channel).isLive && Date.now() < deadline; ) {
      await register();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(connection.commits(peer.channel).isLive).toBe(true);
    calls.length = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => register()));
    expect(calls).not.toContain(COMMIT_STATUS);
    expect(calls.filter((m) => m.endsWith('/Submit'))).toHaveLength(20);
    for (const r of results) expect(r.blockNumber).toBe(await blockOf(r.transactionId));
  });

  it('reports a transaction invalidated at commit, which the client re-endorses', async () => {
    const pseudonym = crypto.randomBytes(32).toString('hex');
    calls.length = 0;
    // Both are endorsed against the same state and land in one block: the second is an MVCC read conflict.
    const [a, b] = await Promise.all([0, 1].map(() => ledger.registerPatient(admin, { pseudonym, encryptionKey: KEY })));
    expect(calls.filter((m) => m.endsWith('/Endorse'))).toHaveLength(3);
    expect(calls).not.toContain(COMMIT_STATUS);
    expect(Math.abs(a.blockNumber - b.blockNumber)).toBeGreaterThan(0);
  });

  it('falls back to CommitStatus when the stream is gone', async () => {
    connection.commits(peer.channel).close();
    expect(connection.commits(peer.channel).isLive).toBe(false);
    calls.length = 0;
    const r = await register();
    expect(calls).toContain(COMMIT_STATUS);
    expect(r.blockNumber).toBe(await blockOf(r.transactionId));
  });
});
