// The hand-written wire encoders and decoders agree with google-protobuf's, byte for byte.
import crypto from 'node:crypto';
import { common, ledger, peer } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../devpeer/gateway/decode.js';
import { decodeChannelHeader, decodeInvocationSpec, decodeProposalRequest } from '../../devpeer/gateway/messages.js';
import { encodeResponse } from '../../devpeer/runtime/endorser.js';
import { ReadWriteSetBuilder } from '../../devpeer/runtime/rwset.js';
import { prepareTransaction } from '../../devpeer/runtime/transaction.js';

const bytes = (n: number): Buffer => crypto.randomBytes(n);

describe('wire encoding', () => {
  it('prepares the same Envelope bytes google-protobuf would', () => {
    const parts = { channelHeaderBytes: bytes(120), signatureHeaderBytes: bytes(900), payloadNoTransient: bytes(300) };
    const prp = bytes(700);
    const endorsements = [1, 2].map(() => {
      const e = new peer.Endorsement();
      e.setEndorser(bytes(800));
      e.setSignature(bytes(71));
      return e;
    });

    const endorsed = new peer.ChaincodeEndorsedAction();
    endorsed.setProposalResponsePayload(prp);
    endorsed.setEndorsementsList(endorsements);
    const cap = new peer.ChaincodeActionPayload();
    cap.setChaincodeProposalPayload(parts.payloadNoTransient);
    cap.setAction(endorsed);
    const action = new peer.TransactionAction();
    action.setHeader(parts.signatureHeaderBytes);
    action.setPayload(cap.serializeBinary());
    const tx = new peer.Transaction();
    tx.setActionsList([action]);
    const header = new common.Header();
    header.setChannelHeader(parts.channelHeaderBytes);
    header.setSignatureHeader(parts.signatureHeaderBytes);
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(tx.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());

    expect(Buffer.from(prepareTransaction(parts, prp, endorsements)).equals(Buffer.from(envelope.serializeBinary()))).toBe(true);
  });

  it('encodes a chaincode Response like google-protobuf', () => {
    for (const r of [{ status: 200, message: '', payload: bytes(10) }, { status: 500, message: 'boom ü', payload: new Uint8Array(0) }]) {
      const expected = new peer.Response();
      expected.setStatus(r.status);
      expected.setMessage(r.message);
      expected.setPayload(r.payload);
      expect(Buffer.from(encodeResponse(r)).equals(Buffer.from(expected.serializeBinary()))).toBe(true);
    }
  });
});

describe('wire decoding', () => {
  it('reads what google-protobuf writes', () => {
    const ch = new common.ChannelHeader();
    ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
    ch.setChannelId('consentry');
    ch.setTxId('abc');
    ch.setEpoch(7);
    ch.setExtension$(bytes(5));
    expect(decodeChannelHeader(ch.serializeBinary())).toMatchObject({ type: 3, channelId: 'consentry', txId: 'abc', epoch: 7 });

    const input = new peer.ChaincodeInput();
    input.setArgsList([Buffer.from('fn'), Buffer.from('arg')]);
    const id = new peer.ChaincodeID();
    id.setName('kv');
    const spec = new peer.ChaincodeSpec();
    spec.setChaincodeId(id);
    spec.setInput(input);
    const cis = new peer.ChaincodeInvocationSpec();
    cis.setChaincodeSpec(spec);
    const decoded = decodeInvocationSpec(cis.serializeBinary());
    expect(decoded.chaincodeName).toBe('kv');
    expect(decoded.args?.map((a) => a.toString())).toEqual(['fn', 'arg']);
  });

  it('turns any malformed input into a DecodeError', () => {
    for (let i = 0; i < 2000; i++) {
      const junk = bytes(1 + (i % 64));
      try {
        decodeProposalRequest(junk, 'EndorseRequest');
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
        expect((err as Error).message).toMatch(/^error unmarshalling \w+: proto: cannot parse invalid wire-format data/);
      }
    }
  });
});

describe('read-write set encoding', () => {
  it('matches google-protobuf, including a range query that found nothing', () => {
    const builder = new ReadWriteSetBuilder('kv');
    builder.addRead('b', { blockNum: 3, txNum: 0 });
    builder.addRead('a', undefined);
    builder.addRangeQuery({ startKey: 'x', endKey: 'y', exhausted: true, reads: [] });
    builder.addRangeQuery({ startKey: 'p/', endKey: 'p/2', exhausted: false, reads: [{ key: 'p/1', version: { blockNum: 1, txNum: 4 } }] });
    builder.addWrite('z', Buffer.from('v'));
    builder.addWrite('c', null);

    const kv = ledger.rwset.kvrwset;
    const version = (blockNum: number, txNum: number) => {
      const v = new kv.Version();
      v.setBlockNum(blockNum);
      v.setTxNum(txNum);
      return v;
    };
    const read = (key: string, v?: InstanceType<typeof kv.Version>) => {
      const r = new kv.KVRead();
      r.setKey(key);
      if (v) r.setVersion(v);
      return r;
    };
    const range = (start: string, end: string, exhausted: boolean, reads: InstanceType<typeof kv.KVRead>[]) => {
      const q = new kv.RangeQueryInfo();
      q.setStartKey(start);
      q.setEndKey(end);
      q.setItrExhausted(exhausted);
      const raw = new kv.QueryReads();
      raw.setKvReadsList(reads);
      q.setRawReads(raw);
      return q;
    };
    const write = (key: string, value?: Buffer) => {
      const w = new kv.KVWrite();
      w.setKey(key);
      if (value) w.setValue(value);
      else w.setIsDelete(true);
      return w;
    };
    const set = new kv.KVRWSet();
    set.setReadsList([read('a'), read('b', version(3, 0))]);
    set.setRangeQueriesInfoList([range('x', 'y', true, []), range('p/', 'p/2', false, [read('p/1', version(1, 4))])]);
    set.setWritesList([write('c'), write('z', Buffer.from('v'))]);
    const ns = new ledger.rwset.NsReadWriteSet();
    ns.setNamespace('kv');
    ns.setRwset(set.serializeBinary());
    const tx = new ledger.rwset.TxReadWriteSet();
    tx.setNsRwsetList([ns]);

    expect(Buffer.from(builder.build()).equals(Buffer.from(tx.serializeBinary()))).toBe(true);
    expect(new ReadWriteSetBuilder('kv').build()).toHaveLength(0);
  });
});
