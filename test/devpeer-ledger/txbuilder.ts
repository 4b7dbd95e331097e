// Builds real endorser-transaction envelopes with @hyperledger/fabric-protos, shaped as a Fabric peer
// and client produce them (creator, nonce, endorsement), without real signatures: the ledger layer does
// not verify them.
import { createHash, randomBytes } from 'node:crypto';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import type { Version } from '../../devpeer/ledger/types.js';

const { kvrwset } = ledger.rwset;

export interface ReadSpec {
  key: string;
  version?: Version;
}

export interface RangeSpec {
  startKey: string;
  endKey: string;
  itrExhausted: boolean;
  reads: ReadSpec[];
}

export interface WriteSpec {
  key: string;
  value?: string | Uint8Array;
  isDelete?: boolean;
}

export interface NsSpec {
  namespace: string;
  reads?: ReadSpec[];
  ranges?: RangeSpec[];
  writes?: WriteSpec[];
}

export interface TxSpec {
  channel?: string;
  txId?: string;
  chaincode?: string;
  /** shorthand for one namespace named like the chaincode */
  reads?: ReadSpec[];
  ranges?: RangeSpec[];
  writes?: WriteSpec[];
  /** more namespaces */
  rwsets?: NsSpec[];
  event?: { name: string; payload?: string | Uint8Array };
  timestamp?: { seconds: number; nanos: number };
  mspId?: string;
  /** stands in for the creator's PEM certificate (about 800 bytes, as a real one) */
  certificate?: string;
}

export const CHANNEL = 'consent';
export const CHAINCODE = 'consent';

const FAKE_CERT = `-----BEGIN CERTIFICATE-----\n${'MIICKzCCAdGgAwIBAgIUd'.repeat(36)}\n-----END CERTIFICATE-----\n`;

export function serializedIdentity(mspId: string, certificate = FAKE_CERT): Uint8Array {
  const id = new msp.SerializedIdentity();
  id.setMspid(mspId);
  id.setIdBytes(Buffer.from(certificate));
  return id.serializeBinary();
}

function bytes(v: string | Uint8Array | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  return typeof v === 'string' ? Buffer.from(v) : v;
}

function kvRead(r: ReadSpec): InstanceType<typeof kvrwset.KVRead> {
  const read = new kvrwset.KVRead();
  read.setKey(r.key);
  if (r.version) {
    const v = new kvrwset.Version();
    v.setBlockNum(r.version.blockNum);
    v.setTxNum(r.version.txNum);
    read.setVersion(v);
  }
  return read;
}

function nsRwSet(spec: NsSpec): InstanceType<typeof ledger.rwset.NsReadWriteSet> {
  const kv = new kvrwset.KVRWSet();
  kv.setReadsList((spec.reads ?? []).map(kvRead));
  kv.setRangeQueriesInfoList(
    (spec.ranges ?? []).map((r) => {
      const q = new kvrwset.RangeQueryInfo();
      q.setStartKey(r.startKey);
      q.setEndKey(r.endKey);
      q.setItrExhausted(r.itrExhausted);
      const raw = new kvrwset.QueryReads();
      raw.setKvReadsList(r.reads.map(kvRead));
      q.setRawReads(raw);
      return q;
    }),
  );
  kv.setWritesList(
    (spec.writes ?? []).map((w) => {
      const write = new kvrwset.KVWrite();
      write.setKey(w.key);
      write.setIsDelete(w.isDelete ?? false);
      write.setValue(bytes(w.value));
      return write;
    }),
  );
  const ns = new ledger.rwset.NsReadWriteSet();
  ns.setNamespace(spec.namespace);
  ns.setRwset(kv.serializeBinary());
  return ns;
}

/** A serialized common.Envelope holding one endorser transaction. */
export function buildEnvelope(spec: TxSpec = {}): Uint8Array {
  const chaincode = spec.chaincode ?? CHAINCODE;
  const creator = serializedIdentity(spec.mspId ?? 'HospitalAMSP', spec.certificate);
  const nonce = randomBytes(24);
  const txId = spec.txId ?? createHash('sha256').update(nonce).update(creator).digest('hex');

  const ccId = new peer.ChaincodeID();
  ccId.setName(chaincode);
  ccId.setVersion('1.0');

  const ts = new timestampPb.Timestamp();
  const now = Date.now();
  ts.setSeconds(spec.timestamp?.seconds ?? Math.floor(now / 1000));
  ts.setNanos(spec.timestamp?.nanos ?? (now % 1000) * 1e6);

  const ext = new peer.ChaincodeHeaderExtension();
  ext.setChaincodeId(ccId);
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
  ch.setChannelId(spec.channel ?? CHANNEL);
  ch.setTxId(txId);
  ch.setTimestamp(ts);
  ch.setExtension$(ext.serializeBinary());
  const sh = new common.SignatureHeader();
  sh.setCreator(creator);
  sh.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(sh.serializeBinary());

  const sets: NsSpec[] = [];
  if (spec.reads || spec.ranges || spec.writes) {
    sets.push({ namespace: chaincode, reads: spec.reads, ranges: spec.ranges, writes: spec.writes });
  }
  sets.push(...(spec.rwsets ?? []));
  const rwset = new ledger.rwset.TxReadWriteSet();
  rwset.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  rwset.setNsRwsetList(sets.map(nsRwSet));

  const response = new peer.Response();
  response.setStatus(200);
  response.setPayload(Buffer.from('{"ok":true}'));
  const action = new peer.ChaincodeAction();
  action.setResults(rwset.serializeBinary());
  if (spec.event) {
    const ev = new peer.ChaincodeEvent();
    ev.setChaincodeId(chaincode);
    ev.setTxId(txId);
    ev.setEventName(spec.event.name);
    ev.setPayload(bytes(spec.event.payload));
    action.setEvents(ev.serializeBinary());
  }
  action.setResponse(response);
  action.setChaincodeId(ccId);

  const prp = new peer.ProposalResponsePayload();
  prp.setProposalHash(randomBytes(32));
  prp.setExtension$(action.serializeBinary());
  const endorsement = new peer.Endorsement();
  endorsement.setEndorser(serializedIdentity('HospitalAMSP'));
  endorsement.setSignature(randomBytes(71));
  const cea = new peer.ChaincodeEndorsedAction();
  cea.setProposalResponsePayload(prp.serializeBinary());
  cea.setEndorsementsList([endorsement]);

  const input = new peer.ChaincodeInput();
  input.setArgsList([Buffer.from('GrantPermission'), Buffer.from('{"patient":"p1"}')]);
  const spec2 = new peer.ChaincodeSpec();
  spec2.setChaincodeId(ccId);
  spec2.setInput(input);
  const cis = new peer.ChaincodeInvocationSpec();
  cis.setChaincodeSpec(spec2);
  const cpp = new peer.ChaincodeProposalPayload();
  cpp.setInput(cis.serializeBinary());
  const cap = new peer.ChaincodeActionPayload();
  cap.setChaincodeProposalPayload(cpp.serializeBinary());
  cap.setAction(cea);

  const ta = new peer.TransactionAction();
  ta.setHeader(sh.serializeBinary());
  ta.setPayload(cap.serializeBinary());
  const tx = new peer.Transaction();
  tx.setActionsList([ta]);

  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(tx.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  env.setSignature(randomBytes(71));
  return env.serializeBinary();
}

/** The tx id inside an envelope built here (read back with fabric-protos, independent of the ledger's parser). */
export function txIdOf(envelope: Uint8Array): string {
  const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelope).getPayload_asU8());
  return common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8()).getTxId();
}
