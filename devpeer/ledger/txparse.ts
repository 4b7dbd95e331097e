// Parses Fabric transaction envelopes (common.Envelope bytes) down to what the ledger needs:
// Envelope → Payload → Header{ChannelHeader, SignatureHeader} → Transaction → actions[0]
// → ChaincodeActionPayload → ChaincodeEndorsedAction → ProposalResponsePayload → ChaincodeAction
// {results: TxReadWriteSet → NsReadWriteSet[] → KVRWSet, events: ChaincodeEvent, response, chaincode_id}.
// Field numbers follow the .proto files of @hyperledger/fabric-protos. Failures carry the
// peer.TxValidationCode Fabric's validator would give.
import { isUtf8 } from 'node:buffer';
import { WIRE_LEN, WIRE_VARINT, WireReader, WireError, asBuffer } from './protowire.js';
import type { CommittedChaincodeEvent, Version } from './types.js';
import { Code, HeaderType } from './codes.js';

export interface TxTimestamp {
  seconds: number;
  nanos: number;
}

export interface TxHeader {
  type: number;
  channelId: string;
  txId: string;
  timestamp: TxTimestamp;
  epoch: number;
  creator: Uint8Array;
  nonce: Uint8Array;
  /** Payload.data (for an endorser transaction: the serialized peer.Transaction) */
  data: Uint8Array;
}

export interface ReadEntry {
  key: string;
  /** absent when the key did not exist at simulation */
  version?: Version;
}

export interface RangeQueryEntry {
  startKey: string;
  /** the requested end, or the last key read when the iterator was not exhausted (Fabric's convention) */
  endKey: string;
  itrExhausted: boolean;
  /** raw reads; undefined when the simulator recorded a Merkle summary instead */
  reads?: ReadEntry[];
}

export interface WriteEntry {
  key: string;
  isDelete: boolean;
  value: Uint8Array;
}

export interface NsRwSet {
  namespace: string;
  reads: ReadEntry[];
  rangeQueries: RangeQueryEntry[];
  writes: WriteEntry[];
}

export interface EndorserTransaction extends TxHeader {
  chaincode: { name: string; version: string; path: string };
  response: { status: number; message: string; payload: Uint8Array };
  event?: CommittedChaincodeEvent;
  rwsets: NsRwSet[];
}

export class TxParseError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** the header, when the failure came after it was read */
    readonly header?: TxHeader,
  ) {
    super(message);
  }
}

export type ParseResult = { ok: true; tx: EndorserTransaction } | { ok: false; error: TxParseError };

export interface ParseOptions {
  /** parse reads and range queries (validation needs them; replaying committed blocks does not) */
  readSets?: boolean;
}

/** Parses an endorser transaction envelope; throws TxParseError (with its validation code) when malformed. */
export function parseEndorserTransaction(envelope: Uint8Array, opts: ParseOptions = {}): EndorserTransaction {
  const r = tryParseTransaction(envelope, opts);
  if (!r.ok) throw r.error;
  return r.tx;
}

export function tryParseTransaction(envelope: Uint8Array, opts: ParseOptions = {}): ParseResult {
  let header: TxHeader;
  try {
    header = parseTxHeader(envelope);
  } catch (e) {
    return { ok: false, error: asParseError(e, Code.BAD_PAYLOAD) };
  }
  if (header.type !== HeaderType.ENDORSER_TRANSACTION) {
    return fail(Code.UNKNOWN_TX_TYPE, `unsupported header type ${header.type}`, header);
  }
  if (header.txId === '') return fail(Code.BAD_PROPOSAL_TXID, 'empty transaction id', header);
  const stage = { code: Code.INVALID_ENDORSER_TRANSACTION as number, what: 'transaction' };
  try {
    return { ok: true, tx: parseEndorserBody(header, opts.readSets !== false, stage) };
  } catch (e) {
    return { ok: false, error: asParseError(e, stage.code, header, stage.what) };
  }
}

// Tags (field number << 3 | wire type) of the length-delimited fields the parser follows.
const LEN1 = (1 << 3) | WIRE_LEN;
const LEN2 = (2 << 3) | WIRE_LEN;
const LEN3 = (3 << 3) | WIRE_LEN;
const LEN4 = (4 << 3) | WIRE_LEN;
const LEN5 = (5 << 3) | WIRE_LEN;
const VAR1 = (1 << 3) | WIRE_VARINT;
const VAR2 = (2 << 3) | WIRE_VARINT;
const VAR3 = (3 << 3) | WIRE_VARINT;
const VAR6 = (6 << 3) | WIRE_VARINT;

/** Envelope → Payload.header (channel and signature headers) and Payload.data. */
export function parseTxHeader(envelope: Uint8Array): TxHeader {
  if (envelope.length === 0) throw new TxParseError(Code.NIL_ENVELOPE, 'empty envelope');
  const buf = asBuffer(envelope);
  let stage: number = Code.BAD_PAYLOAD;
  try {
    // Envelope{payload = 1, signature = 2}
    const env = new WireReader(buf);
    let payload: WireReader | undefined;
    while (env.more()) {
      const t = env.tag();
      if (t === LEN1) {
        env.len();
        payload = env.inner();
      } else env.skip(checkLen(t, 1));
    }
    if (!payload) throw new TxParseError(Code.BAD_PAYLOAD, 'envelope has no payload');
    // Payload{header = 1, data = 2}
    let header: WireReader | undefined;
    let ds = 0;
    let de = 0;
    while (payload.more()) {
      const t = payload.tag();
      if (t === LEN1) {
        payload.len();
        header = payload.inner();
      } else if (t === LEN2) {
        payload.len();
        ds = payload.fs;
        de = payload.fe;
      } else payload.skip(checkLen(t, 1, 2));
    }
    stage = Code.BAD_COMMON_HEADER;
    if (!header) throw new TxParseError(Code.BAD_COMMON_HEADER, 'payload has no header');
    // Header{channel_header = 1, signature_header = 2}
    let ch: WireReader | undefined;
    let sh: WireReader | undefined;
    while (header.more()) {
      const t = header.tag();
      if (t === LEN1) {
        header.len();
        ch = header.inner();
      } else if (t === LEN2) {
        header.len();
        sh = header.inner();
      } else header.skip(checkLen(t, 1, 2));
    }
    if (!ch) throw new TxParseError(Code.BAD_COMMON_HEADER, 'missing channel header');
    const out = parseChannelHeader(ch);
    out.data = buf.subarray(ds, de);
    if (sh) parseSignatureHeader(sh, out);
    if (out.type === HeaderType.ENDORSER_TRANSACTION) {
      if (out.creator.length === 0) throw new TxParseError(Code.BAD_COMMON_HEADER, 'missing creator');
      if (out.nonce.length === 0) throw new TxParseError(Code.BAD_COMMON_HEADER, 'missing nonce');
    }
    if (out.epoch !== 0) throw new TxParseError(Code.BAD_COMMON_HEADER, `invalid epoch ${out.epoch}`);
    return out;
  } catch (e) {
    throw asParseError(e, stage, undefined, stage === Code.BAD_PAYLOAD ? 'payload' : 'header');
  }
}

function parseChannelHeader(r: WireReader): TxHeader {
  // ChannelHeader{type = 1, version = 2, timestamp = 3, channel_id = 4, tx_id = 5, epoch = 6, extension = 7}
  const out: TxHeader = {
    type: 0,
    channelId: '',
    txId: '',
    timestamp: { seconds: 0, nanos: 0 },
    epoch: 0,
    creator: EMPTY,
    nonce: EMPTY,
    data: EMPTY,
  };
  while (r.more()) {
    const t = r.tag();
    if (t === VAR1) out.type = r.int32();
    else if (t === LEN3) {
      r.len();
      out.timestamp = parseTimestamp(r.inner());
    } else if (t === LEN4) out.channelId = r.string();
    else if (t === LEN5) out.txId = r.string();
    else if (t === VAR6) out.epoch = r.varint();
    else r.skip(checkWire(t, [VAR1, LEN3, LEN4, LEN5, VAR6]));
  }
  return out;
}

function parseTimestamp(r: WireReader): TxTimestamp {
  const ts = { seconds: 0, nanos: 0 };
  while (r.more()) {
    const t = r.tag();
    if (t === VAR1) ts.seconds = r.varint();
    else if (t === VAR2) ts.nanos = r.int32();
    else r.skip(t);
  }
  return ts;
}

function parseSignatureHeader(r: WireReader, out: TxHeader): void {
  // SignatureHeader{creator = 1, nonce = 2}
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) out.creator = r.bytes();
    else if (t === LEN2) out.nonce = r.bytes();
    else r.skip(checkLen(t, 1, 2));
  }
}

interface Stage {
  code: number;
  what: string;
}

function parseEndorserBody(header: TxHeader, readSets: boolean, stage: Stage): EndorserTransaction {
  // Transaction{repeated TransactionAction actions = 1}; Fabric accepts exactly one action.
  const tr = WireReader.of(header.data);
  let action: WireReader | undefined;
  let actions = 0;
  while (tr.more()) {
    const t = tr.tag();
    if (t === LEN1) {
      tr.len();
      action = tr.inner();
      actions++;
    } else tr.skip(checkLen(t, 1));
  }
  if (actions !== 1 || !action) {
    throw new TxParseError(Code.INVALID_ENDORSER_TRANSACTION, `transaction has ${actions} actions, expected 1`);
  }
  // TransactionAction{header = 1, payload = 2 (ChaincodeActionPayload)}
  const cap = lenField(action, 2, 'transaction action has no payload');
  // ChaincodeActionPayload{chaincode_proposal_payload = 1, action = 2 (ChaincodeEndorsedAction)}
  const cea = lenField(cap, 2, 'chaincode action payload has no action');
  // ChaincodeEndorsedAction{proposal_response_payload = 1, endorsements = 2}
  const prp = lenField(cea, 1, 'endorsed action has no proposal response payload');
  stage.code = Code.BAD_RESPONSE_PAYLOAD;
  stage.what = 'proposal response payload';
  // ProposalResponsePayload{proposal_hash = 1, extension = 2 (ChaincodeAction)}
  const ext = lenField(prp, 2, 'proposal response payload has no extension');

  const tx = header as EndorserTransaction;
  tx.chaincode = { name: '', version: '', path: '' };
  tx.response = { status: 0, message: '', payload: EMPTY };
  tx.rwsets = [];
  stage.what = 'chaincode action';
  // ChaincodeAction{results = 1, events = 2, response = 3, chaincode_id = 4}
  let results: WireReader | undefined;
  while (ext.more()) {
    const t = ext.tag();
    if (t === LEN1) {
      ext.len();
      results = ext.inner();
    } else if (t === LEN2) {
      ext.len();
      if (ext.fe > ext.fs) tx.event = parseEvent(ext.inner());
    } else if (t === LEN3) {
      ext.len();
      tx.response = parseResponse(ext.inner());
    } else if (t === LEN4) {
      ext.len();
      tx.chaincode = parseChaincodeId(ext.inner());
    } else ext.skip(checkLen(t, 1, 2, 3, 4));
  }
  if (results) {
    stage.code = Code.BAD_RWSET;
    stage.what = 'read-write set';
    tx.rwsets = parseTxRwSet(results, readSets);
  }
  return tx;
}

function parseResponse(r: WireReader): EndorserTransaction['response'] {
  const out = { status: 0, message: '', payload: EMPTY as Uint8Array };
  while (r.more()) {
    const t = r.tag();
    if (t === VAR1) out.status = r.int32();
    else if (t === LEN2) out.message = r.string();
    else if (t === LEN3) out.payload = r.bytes();
    else r.skip(t);
  }
  return out;
}

function parseChaincodeId(r: WireReader): EndorserTransaction['chaincode'] {
  const out = { name: '', version: '', path: '' };
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) out.path = r.string();
    else if (t === LEN2) out.name = r.string();
    else if (t === LEN3) out.version = r.string();
    else r.skip(checkLen(t, 1, 2, 3));
  }
  return out;
}

function parseEvent(r: WireReader): CommittedChaincodeEvent {
  const ev: CommittedChaincodeEvent = { chaincodeId: '', txId: '', eventName: '', payload: EMPTY };
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) ev.chaincodeId = r.string();
    else if (t === LEN2) ev.txId = r.string();
    else if (t === LEN3) ev.eventName = r.string();
    else if (t === LEN4) ev.payload = r.bytes();
    else r.skip(checkLen(t, 1, 2, 3, 4));
  }
  return ev;
}

function parseTxRwSet(r: WireReader, readSets: boolean): NsRwSet[] {
  // TxReadWriteSet{data_model = 1, ns_rwset = 2}; NsReadWriteSet{namespace = 1, rwset = 2, collection_hashed_rwset = 3}
  const out: NsRwSet[] = [];
  while (r.more()) {
    const t = r.tag();
    if (t !== LEN2) {
      r.skip(checkLen(t, 2));
      continue;
    }
    r.len();
    const nr = r.inner();
    let namespace = '';
    let kv: WireReader | undefined;
    while (nr.more()) {
      const nt = nr.tag();
      if (nt === LEN1) namespace = key(nr);
      else if (nt === LEN2) {
        nr.len();
        kv = nr.inner();
      } else nr.skip(checkLen(nt, 1, 2));
    }
    const set: NsRwSet = { namespace, reads: [], rangeQueries: [], writes: [] };
    if (kv) parseKvRwSet(kv, set, readSets);
    out.push(set);
  }
  return out;
}

function parseKvRwSet(r: WireReader, set: NsRwSet, readSets: boolean): void {
  // KVRWSet{reads = 1, range_queries_info = 2, writes = 3, metadata_writes = 4}
  while (r.more()) {
    const t = r.tag();
    if (t === LEN3) {
      r.len();
      set.writes.push(parseWrite(r.inner()));
    } else if (t === LEN1 && readSets) {
      r.len();
      set.reads.push(parseRead(r.inner()));
    } else if (t === LEN2 && readSets) {
      r.len();
      set.rangeQueries.push(parseRangeQuery(r.inner()));
    } else r.skip(checkLen(t, 1, 2, 3, 4));
  }
}

function parseWrite(r: WireReader): WriteEntry {
  // KVWrite{key = 1, is_delete = 2, value = 3}
  const w: WriteEntry = { key: '', isDelete: false, value: EMPTY };
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) w.key = key(r);
    else if (t === VAR2) w.isDelete = r.bool();
    else if (t === LEN3) w.value = r.bytes();
    else r.skip(checkWire(t, [LEN1, VAR2, LEN3]));
  }
  return w;
}

function parseRead(r: WireReader): ReadEntry {
  // KVRead{key = 1, version = 2 (Version{block_num = 1, tx_num = 2})}
  const read: ReadEntry = { key: '' };
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) read.key = key(r);
    else if (t === LEN2) {
      r.len();
      read.version = parseVersion(r.inner());
    } else r.skip(checkLen(t, 1, 2));
  }
  return read;
}

function parseVersion(r: WireReader): Version {
  const v: Version = { blockNum: 0, txNum: 0 };
  while (r.more()) {
    const t = r.tag();
    if (t === VAR1) v.blockNum = r.varint();
    else if (t === VAR2) v.txNum = r.varint();
    else r.skip(checkWire(t, [VAR1, VAR2]));
  }
  return v;
}

function parseRangeQuery(r: WireReader): RangeQueryEntry {
  // RangeQueryInfo{start_key = 1, end_key = 2, itr_exhausted = 3, raw_reads = 4 (QueryReads{kv_reads = 1}),
  // reads_merkle_hashes = 5}
  const q: RangeQueryEntry = { startKey: '', endKey: '', itrExhausted: false };
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) q.startKey = key(r);
    else if (t === LEN2) q.endKey = key(r);
    else if (t === VAR3) q.itrExhausted = r.bool();
    else if (t === LEN4) {
      r.len();
      const qr = r.inner();
      const reads: ReadEntry[] = [];
      while (qr.more()) {
        const qt = qr.tag();
        if (qt === LEN1) {
          qr.len();
          reads.push(parseRead(qr.inner()));
        } else qr.skip(checkLen(qt, 1));
      }
      q.reads = reads;
    } else if (t === LEN5) {
      r.skip(t);
      q.reads = undefined;
    } else r.skip(checkWire(t, [LEN1, LEN2, VAR3, LEN4, LEN5]));
  }
  return q;
}

const EMPTY = new Uint8Array(0);

/** A reader over the last occurrence of a required length-delimited field. */
function lenField(r: WireReader, num: number, missing: string): WireReader {
  const tag = (num << 3) | WIRE_LEN;
  let found: WireReader | undefined;
  while (r.more()) {
    const t = r.tag();
    if (t === tag) {
      r.len();
      found = r.inner();
    } else r.skip(checkLen(t, num));
  }
  if (!found) throw new WireError(missing);
  return found;
}

/** A known field number must arrive length-delimited; returns the tag for skipping otherwise. */
function checkLen(tag: number, ...nums: number[]): number {
  if ((tag & 7) !== WIRE_LEN && nums.includes(tag >>> 3)) {
    throw new WireError(`field ${tag >>> 3} has wire type ${tag & 7}`);
  }
  return tag;
}

/** A known field number must carry its expected wire type. */
function checkWire(tag: number, expected: number[]): number {
  const f = tag >>> 3;
  if (expected.some((e) => e >>> 3 === f)) throw new WireError(`field ${f} has wire type ${tag & 7}`);
  return tag;
}

/** Keys and namespaces must be valid UTF-8 (Go's proto3 decoder rejects anything else). */
function key(r: WireReader): string {
  r.len();
  const b = r.buf.subarray(r.fs, r.fe);
  if (!isUtf8(b)) throw new TxParseError(Code.BAD_RWSET, 'key is not valid UTF-8');
  return r.buf.toString('utf8', r.fs, r.fe);
}

function asParseError(e: unknown, code: number, header?: TxHeader, what?: string): TxParseError {
  if (e instanceof TxParseError) {
    return header && !e.header ? new TxParseError(e.code, e.message, header) : e;
  }
  if (e instanceof WireError) return new TxParseError(code, what ? `malformed ${what}: ${e.message}` : e.message, header);
  throw e;
}

function fail(code: number, message: string, header: TxHeader): ParseResult {
  return { ok: false, error: new TxParseError(code, message, header) };
}
