// Chaincode events (replay from a block, checkpoint resume, live) and block events through the client.
import path from 'node:path';
import { checkpointers, type ChaincodeEvent, type CloseableAsyncIterable, type Contract, type Network } from '@hyperledger/fabric-gateway';
import { peer } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvContract } from './fixtures/kvcontract.js';
import { connectUser, newUser, startTestPeer, tempDir, utf8, type Connection, type TestPeer } from './support.js';

let node: TestPeer;
let conn: Connection;
let network: Network;
let kv: Contract;
/** block and tx ids of the three Puts made in beforeAll */
let firstBlock: bigint;
const txIds: string[] = [];

beforeAll(async () => {
  node = await startTestPeer({ chaincode: 'kv', contracts: [KvContract], blockTimeoutMs: 20 });
  conn = connectUser(node.endpoint, await newUser(node.caOf('HospitalAMSP'), 'listener'));
  network = conn.gateway.getNetwork('consentry');
  kv = network.getContract('kv');
  for (const key of ['e1', 'e2', 'e3']) {
    const submitted = await kv.submitAsync('Put', { arguments: [key, `v-${key}`] });
    const status = await submitted.getStatus();
    firstBlock ??= status.blockNumber;
    txIds.push(submitted.getTransactionId());
  }
});

afterAll(async () => {
  conn?.close();
  await node?.stop();
});

async function take<T>(iterable: CloseableAsyncIterable<T>, n: number, onEach?: (item: T) => Promise<void> | void): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const item of iterable) {
      out.push(item);
      await onEach?.(item);
      if (out.length === n) break;
    }
  } finally {
    iterable.close();
  }
  return out;
}

describe('chaincode events', () => {
  it('replays events from a block, one per valid transaction, in commit order', async () => {
    const events = await take(await network.getChaincodeEvents('kv', { startBlock: firstBlock }), 3);
    expect(events.map((e) => e.transactionId)).toEqual(txIds);
    expect(events[0]).toMatchObject({ chaincodeName: 'kv', eventName: 'Put', blockNumber: firstBlock });
    expect(JSON.parse(utf8(events[1].payload))).toEqual({ key: 'e2', value: 'v-e2' });
  });

  it('resumes after the checkpointed transaction (in-memory and file checkpointers)', async () => {
    const file = path.join(await tempDir('checkpoint-'), 'events.json');
    for (const checkpointer of [checkpointers.inMemory(), await checkpointers.file(file)]) {
      await take(await network.getChaincodeEvents('kv', { startBlock: firstBlock }), 1, (e: ChaincodeEvent) =>
        checkpointer.checkpointChaincodeEvent(e),
      );
      expect(checkpointer.getTransactionId()).toBe(txIds[0]);
      const resumed = await take(await network.getChaincodeEvents('kv', { checkpoint: checkpointer }), 2);
      expect(resumed.map((e) => e.transactionId)).toEqual([txIds[1], txIds[2]]);
    }
  });

  it('delivers live events of newly committed valid transactions only', async () => {
    const live = await network.getChaincodeEvents('kv');
    const received = take(live, 2);
    // A conflicting pair: only the valid one's event is delivered.
    const [a, b] = await Promise.all([
      kv.newProposal('Increment', { arguments: ['live-counter'] }).endorse(),
      kv.newProposal('Increment', { arguments: ['live-counter'] }).endorse(),
    ]);
    const statuses = await Promise.all([(await a.submit()).getStatus(), (await b.submit()).getStatus()]);
    expect(statuses.map((s) => s.code)).toEqual([peer.TxValidationCode.VALID, peer.TxValidationCode.MVCC_READ_CONFLICT]);
    const marker = await kv.submitAsync('Put', { arguments: ['live', 'yes'] });
    const events = await received;
    expect(events.map((e) => [e.transactionId, e.eventName])).toEqual([
      [a.getTransactionId(), 'Incremented'],
      [marker.getTransactionId(), 'Put'],
    ]);
  });

  it('streams blocks and filtered blocks through the Deliver service', async () => {
    const blocks = await take(await network.getBlockEvents({ startBlock: firstBlock }), 3);
    expect(blocks.map((b) => b.getHeader()?.getNumber())).toEqual([0, 1, 2].map((i) => Number(firstBlock) + i));
    const filtered = await take(await network.getFilteredBlockEvents({ startBlock: firstBlock }), 1);
    const tx = filtered[0].getFilteredTransactionsList()[0];
    expect(tx.getTxid()).toBe(txIds[0]);
    expect(tx.getTxValidationCode()).toBe(peer.TxValidationCode.VALID);
    expect(tx.getTransactionActions()?.getChaincodeActionsList()[0].getChaincodeEvent()?.getEventName()).toBe('Put');
  });
});
