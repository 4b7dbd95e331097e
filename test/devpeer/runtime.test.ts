// Fabric's chaincode semantics as the devpeer runtime reproduces them through the real ChaincodeStub.
import { type Contract } from '@hyperledger/fabric-gateway';
import { common, gateway as gw, peer } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvContract } from './fixtures/kvcontract.js';
import { connectUser, newUser, startTestPeer, utf8, type Connection, type TestPeer } from './support.js';

let node: TestPeer;
let conn: Connection;
let kv: Contract;

beforeAll(async () => {
  node = await startTestPeer({ chaincode: 'kv', contracts: [KvContract] });
  conn = connectUser(node.endpoint, await newUser(node.caOf('HospitalBMSP'), 'dr-who', { role: 'practitioner', npi: '1234567890' }));
  kv = conn.gateway.getNetwork('consentry').getContract('kv');
});

afterAll(async () => {
  conn?.close();
  await node?.stop();
});

const json = async <T>(p: Promise<Uint8Array>): Promise<T> => JSON.parse(utf8(await p)) as T;

describe('chaincode semantics', () => {
  it('does not let a transaction read its own writes', async () => {
    await kv.submitTransaction('Put', 'ryw', 'committed');
    expect(utf8(await kv.submitTransaction('PutThenGet', 'ryw', 'pending'))).toBe('committed');
    expect(utf8(await kv.evaluateTransaction('Get', 'ryw'))).toBe('pending');
  });

  it('ends ranges exclusively and orders keys by their UTF-8 bytes', async () => {
    // U+FF5E sorts before U+1F600 in UTF-8 (and code points), after it in UTF-16 code units.
    for (const key of ['r/a', 'r/b', 'r/c', 'r/\uff5e', 'r/\u{1f600}']) await kv.submitTransaction('Put', key, 'x');
    expect(await json(kv.evaluateTransaction('Range', 'r/a', 'r/c'))).toEqual(['r/a', 'r/b']);
    expect(await json(kv.evaluateTransaction('Range', 'r/', 'r0'))).toEqual(['r/a', 'r/b', 'r/c', 'r/\uff5e', 'r/\u{1f600}']);
    expect(await json(kv.evaluateTransaction('Range', 'r/\uff5e', ''))).toEqual(['r/\uff5e', 'r/\u{1f600}', 'ryw']);
  });

  it('pages through a range with bookmarks', async () => {
    for (let i = 0; i < 5; i++) await kv.submitTransaction('Put', `page/${i}`, String(i));
    const first = await json<{ keys: string[]; bookmark: string; count: number }>(kv.evaluateTransaction('Page', 'page/', 'page0', '2', ''));
    expect(first).toEqual({ keys: ['page/0', 'page/1'], bookmark: 'page/2', count: 2 });
    const last = await json<{ keys: string[]; bookmark: string }>(kv.evaluateTransaction('Page', 'page/', 'page0', '10', 'page/3'));
    expect(last).toMatchObject({ keys: ['page/3', 'page/4'], bookmark: '' });
  });

  it('returns more than one batch of range results', async () => {
    const ops = Array.from({ length: 230 }, (_, i) => kv.submitTransaction('Put', `bulk/${String(i).padStart(3, '0')}`, 'v'));
    await Promise.all(ops);
    const keys = await json<string[]>(kv.evaluateTransaction('Range', 'bulk/', 'bulk0'));
    expect(keys).toHaveLength(230);
    expect(keys[229]).toBe('bulk/229');
  });

  it('lists key history newest first, including deletions', async () => {
    const ids: string[] = [];
    for (const value of ['one', 'two']) {
      const s = await kv.submitAsync('Put', { arguments: ['hist', value] });
      await s.getStatus();
      ids.push(s.getTransactionId());
    }
    const del = await kv.submitAsync('Del', { arguments: ['hist'] });
    await del.getStatus();
    ids.push(del.getTransactionId());
    const history = await json<{ txId: string; value: string; isDelete: boolean }[]>(kv.evaluateTransaction('History', 'hist'));
    expect(history.map((h) => h.txId)).toEqual(ids.reverse());
    expect(history.map((h) => [h.value, h.isDelete])).toEqual([['', true], ['two', false], ['one', false]]);
  });

  it('keeps only the last event a transaction sets', async () => {
    const submitted = await kv.submitAsync('TwoEvents');
    const status = await submitted.getStatus();
    const events = await conn.gateway.getNetwork('consentry').getChaincodeEvents('kv', { startBlock: status.blockNumber });
    try {
      for await (const event of events) {
        if (event.transactionId !== submitted.getTransactionId()) continue;
        expect(event.eventName).toBe('Second');
        expect(utf8(event.payload)).toBe('2');
        break;
      }
    } finally {
      events.close();
    }
  });

  it("uses the client's channel-header timestamp as the transaction time", async () => {
    const proposal = kv.newProposal('TxTime');
    const header = common.Header.deserializeBinary(peer.Proposal.deserializeBinary(peerProposalBytes(proposal.getBytes())).getHeader_asU8());
    const ts = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()).getTimestamp()!;
    const seen = JSON.parse(utf8(await proposal.evaluate())) as { seconds: number; nanos: number; txId: string; channel: string };
    expect(seen).toEqual({ seconds: ts.getSeconds(), nanos: ts.getNanos(), txId: proposal.getTransactionId(), channel: 'consentry' });
  });

  it('gives the chaincode the caller identity and certificate attributes', async () => {
    const me = await json<{ mspId: string; role: string }>(kv.evaluateTransaction('Whoami'));
    expect(me).toMatchObject({ mspId: 'HospitalBMSP', role: 'practitioner' });
  });
});

function peerProposalBytes(proposedTransaction: Uint8Array): Uint8Array {
  return gw.ProposedTransaction.deserializeBinary(proposedTransaction).getProposal()!.getProposalBytes_asU8();
}
