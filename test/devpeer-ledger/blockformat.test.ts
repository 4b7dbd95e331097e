import { createHash } from 'node:crypto';
import { common, peer } from '@hyperledger/fabric-protos';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blockDataHash,
  blockHeaderBytes,
  blockHeaderHash,
  buildGenesisBlock,
  parseEndorserTransaction,
  tryParseTransaction,
  TxValidationCode as Code,
} from '../../devpeer/ledger/index.js';
import { cleanupDirs, open, tempLedgerDir } from './helpers.js';
import { CHAINCODE, CHANNEL, buildEnvelope, serializedIdentity } from './txbuilder.js';

afterEach(cleanupDirs);

describe('block hashing', () => {
  it('hashes the ASN.1 DER of SEQUENCE{INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash}', () => {
    const h = (byte: string) => Buffer.alloc(32, Number.parseInt(byte, 16));
    const der = (n: number, prev: Buffer, data: Buffer) => blockHeaderBytes({ number: n, previousHash: prev, dataHash: data }).toString('hex');
    // genesis: INTEGER 0, empty OCTET STRING
    expect(der(0, Buffer.alloc(0), h('11'))).toBe('3027' + '020100' + '0400' + '0420' + '11'.repeat(32));
    // 128 needs a leading zero byte to stay positive
    expect(der(128, h('22'), h('33'))).toBe('3048' + '02020080' + '0420' + '22'.repeat(32) + '0420' + '33'.repeat(32));
    expect(der(65535, h('22'), h('33'))).toBe('3049' + '020300ffff' + '0420' + '22'.repeat(32) + '0420' + '33'.repeat(32));
    expect(der(2 ** 40 + 3, h('22'), h('33'))).toBe('304c' + '0206010000000003' + '0420' + '22'.repeat(32) + '0420' + '33'.repeat(32));
  });

  it('reproduces the header hash of a block from a Fabric 2.5 network', () => {
    // Block 28 of a Fabric 2.5.15 channel (public test fixture): previous and data hash, and its hash as
    // reported by QSCC GetChainInfo at height 29.
    const hash = blockHeaderHash({
      number: 28,
      previousHash: Buffer.from('003ef1053b17f9cf286bd087f03dbd72cddb7c1fb8f2e680128c32e5c6db6b8d', 'hex'),
      dataHash: Buffer.from('9cd1500e262501b40b0c9c7dba2dc17fd7282d3b9f91c04f26f6564d774d3655', 'hex'),
    });
    expect(hash.toString('hex')).toBe('5f896f60ee4a5a755dacd92ba162a707299621442683754c2469de8a123c43da');
  });

  it('computes the data hash over the concatenated data entries', () => {
    const data = [Buffer.from('one'), Buffer.from('two'), Buffer.from('')];
    expect(blockDataHash(data)).toEqual(createHash('sha256').update('onetwo').digest());
  });
});

describe('stored blocks', () => {
  it('are common.Block messages chained by header hash, with TRANSACTIONS_FILTER and COMMIT_HASH metadata', async () => {
    const l = await open(tempLedgerDir());
    const genesisHash = Buffer.from(l.chainInfo().currentBlockHash);
    const envs = [
      buildEnvelope({ writes: [{ key: 'a', value: '1' }] }),
      buildEnvelope({ reads: [{ key: 'a' }], writes: [{ key: 'a', value: '2' }] }), // a did not exist: fine
      buildEnvelope({ reads: [{ key: 'a' }], writes: [{ key: 'b', value: '3' }] }), // but a was written above
    ];
    const committed = await l.commitBlock(envs);
    expect(committed.transactions.map((t) => t.validationCode)).toEqual([Code.VALID, Code.MVCC_READ_CONFLICT, Code.MVCC_READ_CONFLICT]);

    const block = common.Block.deserializeBinary(l.getBlock(1)!);
    expect(Buffer.from(l.getBlock(1)!)).toEqual(Buffer.from(committed.block));
    const header = block.getHeader()!;
    expect(header.getNumber()).toBe(1);
    expect(Buffer.from(header.getPreviousHash_asU8())).toEqual(genesisHash);
    expect(Buffer.from(header.getDataHash_asU8())).toEqual(createHash('sha256').update(Buffer.concat(envs)).digest());
    expect(block.getData()!.getDataList_asU8().map((d) => Buffer.from(d))).toEqual(envs.map((e) => Buffer.from(e)));
    const md = block.getMetadata()!.getMetadataList_asU8();
    expect(md).toHaveLength(5);
    expect([...md[common.BlockMetadataIndex.TRANSACTIONS_FILTER]]).toEqual([0, 11, 11]);
    const commitHash = common.Metadata.deserializeBinary(md[common.BlockMetadataIndex.COMMIT_HASH]).getValue_asU8();
    expect(Buffer.from(commitHash)).toEqual(Buffer.from(l.commitHash()));
    expect(commitHash).toHaveLength(32);

    const info = l.chainInfo();
    expect(info.height).toBe(2);
    expect(Buffer.from(info.previousBlockHash)).toEqual(genesisHash);
    expect(Buffer.from(info.currentBlockHash)).toEqual(
      blockHeaderHash({ number: 1, previousHash: header.getPreviousHash_asU8(), dataHash: header.getDataHash_asU8() }),
    );
    expect(l.getBlock(2)).toBeUndefined();
    await l.close();
  });

  it('starts with a genesis config block for the channel', async () => {
    const l = await open(tempLedgerDir(), { mspIds: ['HospitalAMSP', 'HospitalBMSP'] });
    const block = common.Block.deserializeBinary(l.getBlock(0)!);
    expect(block.getHeader()!.getNumber()).toBe(0);
    expect(block.getHeader()!.getPreviousHash_asU8()).toHaveLength(0);
    const [env] = block.getData()!.getDataList_asU8();
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(env).getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
    expect(ch.getType()).toBe(common.HeaderType.CONFIG);
    expect(ch.getChannelId()).toBe(CHANNEL);
    const config = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig()!;
    const orgs = config.getChannelGroup()!.getGroupsMap().get('Application')!.getGroupsMap().getEntryList().map((e) => e[0]);
    expect(orgs).toEqual(['HospitalAMSP', 'HospitalBMSP']);
    expect(buildGenesisBlock(CHANNEL).block.length).toBeGreaterThan(0);
    await l.close();
  });
});

describe('transaction parsing', () => {
  it('reads header, rwset, event, response and chaincode id of an endorser transaction', () => {
    const env = buildEnvelope({
      txId: 'tx-1',
      timestamp: { seconds: 1_700_000_000, nanos: 123_000_000 },
      reads: [{ key: 'r1', version: { blockNum: 4, txNum: 2 } }, { key: 'r2' }],
      ranges: [{ startKey: 'a', endKey: 'b', itrExhausted: true, reads: [{ key: 'a1', version: { blockNum: 1, txNum: 0 } }] }],
      writes: [{ key: 'w1', value: 'v1' }, { key: 'w2', isDelete: true }],
      rwsets: [{ namespace: 'other', writes: [{ key: 'x', value: 'y' }] }],
      event: { name: 'PermissionGranted', payload: '{"id":1}' },
    });
    const tx = parseEndorserTransaction(env);
    expect(tx).toMatchObject({
      type: common.HeaderType.ENDORSER_TRANSACTION,
      channelId: CHANNEL,
      txId: 'tx-1',
      timestamp: { seconds: 1_700_000_000, nanos: 123_000_000 },
      chaincode: { name: CHAINCODE, version: '1.0' },
      response: { status: 200 },
    });
    expect(Buffer.from(tx.creator)).toEqual(Buffer.from(serializedIdentity('HospitalAMSP')));
    expect(tx.nonce).toHaveLength(24);
    expect(tx.rwsets.map((s) => s.namespace)).toEqual([CHAINCODE, 'other']);
    expect(tx.rwsets[0].reads).toEqual([{ key: 'r1', version: { blockNum: 4, txNum: 2 } }, { key: 'r2' }]);
    expect(tx.rwsets[0].rangeQueries).toEqual([
      { startKey: 'a', endKey: 'b', itrExhausted: true, reads: [{ key: 'a1', version: { blockNum: 1, txNum: 0 } }] },
    ]);
    expect(tx.rwsets[0].writes.map((w) => [w.key, w.isDelete, Buffer.from(w.value).toString()])).toEqual([
      ['w1', false, 'v1'],
      ['w2', true, ''],
    ]);
    expect(tx.event && { ...tx.event, payload: Buffer.from(tx.event.payload).toString() }).toEqual({
      chaincodeId: CHAINCODE,
      txId: 'tx-1',
      eventName: 'PermissionGranted',
      payload: '{"id":1}',
    });
  });

  it('maps malformed envelopes to Fabric validation codes', () => {
    const code = (bytes: Uint8Array) => {
      const r = tryParseTransaction(bytes);
      return r.ok ? Code.VALID : r.error.code;
    };
    expect(code(new Uint8Array(0))).toBe(Code.NIL_ENVELOPE);
    expect(code(Buffer.from([0x0a, 0x05, 0x01]))).toBe(Code.BAD_PAYLOAD); // payload length overruns

    const headerless = new common.Payload();
    headerless.setData(Buffer.from('data without a header'));
    const env = new common.Envelope();
    env.setPayload(headerless.serializeBinary());
    expect(code(env.serializeBinary())).toBe(Code.BAD_COMMON_HEADER);

    // a valid header over a Transaction without actions
    const good = common.Envelope.deserializeBinary(buildEnvelope());
    const payload = common.Payload.deserializeBinary(good.getPayload_asU8());
    payload.setData(new peer.Transaction().serializeBinary());
    good.setPayload(payload.serializeBinary());
    const r = tryParseTransaction(good.serializeBinary());
    expect(r.ok ? 0 : r.error.code).toBe(Code.INVALID_ENDORSER_TRANSACTION);
    expect(r.ok ? '' : r.error.header?.txId).toMatch(/^[0-9a-f]{64}$/); // the id is still known

    // an unparseable read-write set
    const tx = peer.Transaction.deserializeBinary(
      common.Payload.deserializeBinary(common.Envelope.deserializeBinary(buildEnvelope()).getPayload_asU8()).getData_asU8(),
    );
    const action = tx.getActionsList()[0];
    const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const prp = peer.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8());
    const cca = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    cca.setResults(Buffer.from([0x12, 0x40, 0x00]));
    prp.setExtension$(cca.serializeBinary());
    cap.getAction()!.setProposalResponsePayload(prp.serializeBinary());
    action.setPayload(cap.serializeBinary());
    const p2 = new common.Payload();
    p2.setHeader(payload.getHeader());
    p2.setData(tx.serializeBinary());
    const e2 = new common.Envelope();
    e2.setPayload(p2.serializeBinary());
    expect(code(e2.serializeBinary())).toBe(Code.BAD_RWSET);
  });
});
