// Unit-test harness: drives the contract through fabric-shim's real ChaincodeStub and
// ChaincodeFromContract.Invoke. Only the peer side is a test double: an in-memory ledger that answers the
// stub's handler calls the way a peer does (committed reads only, range end exclusive, UTF-8 key order,
// paged query results, history newest first) and commits a transaction's writes only when it succeeds.
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import { contracts } from '../src/index.js';

const require = createRequire(import.meta.url);
const shimRequire = createRequire(require.resolve('fabric-shim'));
const protosRequire = createRequire(shimRequire.resolve('@hyperledger/fabric-protos'));

/* eslint-disable @typescript-eslint/no-explicit-any -- fabric-shim internals and fabric-protos 0.2.2 are untyped here */
const { ChaincodeStub, StateQueryIterator, HistoryQueryIterator } = shimRequire('fabric-shim') as any;
const ChaincodeFromContract = shimRequire('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as any;
const { JSONSerializer } = shimRequire('fabric-contract-api') as any;
const { peer, common, msp, ledger } = protosRequire('@hyperledger/fabric-protos') as any;
const { Timestamp } = protosRequire('google-protobuf/google/protobuf/timestamp_pb.js') as any;
// fabric-shim logs every failed transaction at error level; the tests assert on the messages instead.
(shimRequire('fabric-shim/lib/logger.js') as any).setLevel('CRITICAL');

// @peculiar/x509 needs the Reflect metadata polyfill, which loading fabric-shim above has installed.
const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto);
type Certificate = InstanceType<typeof x509.X509Certificate>;
type KeyPair = webcrypto.CryptoKeyPair;

export const CHANNEL = 'consentry';
const ATTR_OID = '1.2.3.4.5.6.7.8.1';
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** Results per QueryResponse page, small so that iteration crosses pages (QueryStateNext). */
const PAGE = 2;

export interface Identity {
  mspId: string;
  certPem: string;
}

interface HistoryRecord {
  txId: string;
  seconds: number;
  nanos: number;
  value: Buffer;
  isDelete: boolean;
}

interface Write {
  key: string;
  value?: Buffer;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function queryResponse(id: string, items: Buffer[], hasMore: boolean): any {
  const response = new peer.QueryResponse();
  response.setId(id);
  response.setHasMore(hasMore);
  response.setResultsList(
    items.map((bytes) => {
      const r = new peer.QueryResultBytes();
      r.setResultbytes(bytes);
      return r;
    }),
  );
  return response;
}

/** The peer side of the chaincode shim, in memory. */
class LedgerDouble {
  readonly state = new Map<string, Buffer>();
  readonly history = new Map<string, HistoryRecord[]>();
  private readonly pending = new Map<string, Write[]>();
  private readonly cursors = new Map<string, { items: Buffer[]; offset: number }>();
  private nextCursor = 0;
  /** every handler call, for assertions on what the chaincode asked the peer */
  readonly calls: string[] = [];

  begin(txId: string): void {
    this.pending.set(txId, []);
  }

  end(txId: string, commit: boolean, seconds: number, nanos: number): Write[] {
    const writes = this.pending.get(txId) ?? [];
    this.pending.delete(txId);
    if (!commit) return writes;
    const last = new Map<string, Write>();
    for (const w of writes) last.set(w.key, w);
    for (const w of last.values()) {
      if (w.value === undefined) this.state.delete(w.key);
      else this.state.set(w.key, w.value);
      const list = this.history.get(w.key) ?? [];
      list.push({ txId, seconds, nanos, value: w.value ?? Buffer.alloc(0), isDelete: w.value === undefined });
      this.history.set(w.key, list);
    }
    return writes;
  }

  async handleGetState(_collection: string, key: string): Promise<Buffer> {
    this.calls.push(`GetState ${key}`);
    return this.state.get(key) ?? Buffer.alloc(0);
  }

  async handlePutState(_collection: string, key: string, value: Buffer, _channel: string, txId: string): Promise<Buffer> {
    this.calls.push(`PutState ${key}`);
    this.pending.get(txId)?.push({ key, value: Buffer.from(value) });
    return Buffer.alloc(0);
  }

  async handleDeleteState(_collection: string, key: string, _channel: string, txId: string): Promise<Buffer> {
    this.calls.push(`DelState ${key}`);
    this.pending.get(txId)?.push({ key });
    return Buffer.alloc(0);
  }

  private page(id: string): any {
    const cursor = this.cursors.get(id);
    if (!cursor) throw new Error(`unknown query ${id}`);
    const items = cursor.items.slice(cursor.offset, cursor.offset + PAGE);
    cursor.offset += items.length;
    const hasMore = cursor.offset < cursor.items.length;
    if (!hasMore) this.cursors.delete(id);
    return queryResponse(id, items, hasMore);
  }

  async handleGetStateByRange(_collection: string, start: string, end: string, channel: string, txId: string): Promise<any> {
    this.calls.push('GetStateByRange');
    const keys = [...this.state.keys()]
      .filter((k) => utf8Compare(k, start) >= 0 && (end === '' || utf8Compare(k, end) < 0))
      .sort(utf8Compare);
    const items = keys.map((key) => {
      const kv = new ledger.queryresult.KV();
      kv.setNamespace('consentry');
      kv.setKey(key);
      kv.setValue(this.state.get(key));
      return Buffer.from(kv.serializeBinary());
    });
    const id = `q${this.nextCursor++}`;
    this.cursors.set(id, { items, offset: 0 });
    return { iterator: new StateQueryIterator(this, channel, txId, this.page(id)) };
  }

  async handleQueryStateNext(id: string): Promise<any> {
    this.calls.push('QueryStateNext');
    return this.page(id);
  }

  async handleQueryStateClose(id: string): Promise<any> {
    this.cursors.delete(id);
    return queryResponse(id, [], false);
  }

  async handleGetHistoryForKey(key: string, channel: string, txId: string): Promise<any> {
    this.calls.push(`GetHistoryForKey ${key}`);
    const newestFirst = [...(this.history.get(key) ?? [])].reverse();
    const items = newestFirst.map((h) => {
      const km = new ledger.queryresult.KeyModification();
      km.setTxId(h.txId);
      km.setValue(h.value);
      km.setIsDelete(h.isDelete);
      const ts = new Timestamp();
      ts.setSeconds(h.seconds);
      ts.setNanos(h.nanos);
      km.setTimestamp(ts);
      return Buffer.from(km.serializeBinary());
    });
    const id = `h${this.nextCursor++}`;
    this.cursors.set(id, { items, offset: 0 });
    return new HistoryQueryIterator(this, channel, txId, this.page(id));
  }

  async handleGetQueryResult(): Promise<never> {
    throw new Error('rich queries are not supported on LevelDB');
  }
}

export interface TxResult {
  txId: string;
  status: number;
  message: string;
  payload: string;
  event?: { name: string; payload: string };
  writes: { key: string; value?: string }[];
}

export interface InvokeOptions {
  /** tx time (channel-header timestamp) in ms; default: the network clock, which then advances 1 s */
  at?: number;
}

/** Organization CAs and the member certificates they issue (ECDSA P-256, Fabric attribute extension). */
export class Pki {
  private readonly cas = new Map<string, { key: KeyPair; cert: Certificate }>();

  private async caFor(mspId: string): Promise<{ key: KeyPair; cert: Certificate }> {
    let ca = this.cas.get(mspId);
    if (!ca) {
      const key = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: `CN=ca.${mspId.toLowerCase()}, O=${mspId}`,
        notBefore: new Date('2024-01-01T00:00:00Z'),
        notAfter: new Date('2034-01-01T00:00:00Z'),
        signingAlgorithm: ALG,
        keys: key,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
      });
      ca = { key, cert };
      this.cas.set(mspId, ca);
    }
    return ca;
  }

  /** A member of `mspId` whose certificate carries `attrs` as Fabric CA does (OID 1.2.3.4.5.6.7.8.1). */
  async identity(mspId: string, commonName: string, attrs: Record<string, string>): Promise<Identity> {
    const ca = await this.caFor(mspId);
    const key = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(8).toString('hex'),
      subject: `CN=${commonName}, OU=client`,
      issuer: ca.cert.subject,
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2034-01-01T00:00:00Z'),
      signingAlgorithm: ALG,
      publicKey: key.publicKey,
      signingKey: ca.key.privateKey,
      extensions: [new x509.Extension(ATTR_OID, false, Buffer.from(JSON.stringify({ attrs })))],
    });
    return { mspId, certPem: cert.toString('pem') };
  }
}

/** One channel with the contract installed and an empty ledger. */
export class TestNetwork {
  readonly ledger = new LedgerDouble();
  /** the clock used for transactions without an explicit time */
  clockMs = Date.UTC(2025, 0, 1, 8, 0, 0);
  private readonly chaincode: any;

  constructor() {
    // ChaincodeFromContract appends its system contract to the array it is given: pass a copy.
    this.chaincode = new ChaincodeFromContract([...contracts], {
      transaction: 'jsonSerializer',
      serializers: { jsonSerializer: JSONSerializer },
    });
  }

  /** The transactions fabric-shim discovered in the contract, as it would report them in its metadata. */
  transactions(): { name: string; parameters?: { schema: { type: string } }[] }[] {
    return this.chaincode.metadata.contracts.consentry.transactions;
  }

  /** Executes one proposal; when `commit`, a successful transaction's writes are committed. */
  async invoke(who: Identity, fn: string, args: string[], commit: boolean, opts: InvokeOptions = {}): Promise<TxResult> {
    const atMs = opts.at ?? this.clockMs;
    if (opts.at === undefined) this.clockMs += 1000;
    const seconds = Math.floor(atMs / 1000);
    const nanos = (atMs % 1000) * 1_000_000;

    const creator = new msp.SerializedIdentity();
    creator.setMspid(who.mspId);
    creator.setIdBytes(Buffer.from(who.certPem));
    const creatorBytes = Buffer.from(creator.serializeBinary());
    const nonce = randomBytes(24);
    const txId = createHash('sha256').update(nonce).update(creatorBytes).digest('hex');

    const signatureHeader = new common.SignatureHeader();
    signatureHeader.setCreator(creatorBytes);
    signatureHeader.setNonce(nonce);
    const timestamp = new Timestamp();
    timestamp.setSeconds(seconds);
    timestamp.setNanos(nanos);
    const channelHeader = new common.ChannelHeader();
    channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
    channelHeader.setChannelId(CHANNEL);
    channelHeader.setTxId(txId);
    channelHeader.setTimestamp(timestamp);
    const header = new common.Header();
    header.setChannelHeader(channelHeader.serializeBinary());
    header.setSignatureHeader(signatureHeader.serializeBinary());

    const input = new peer.ChaincodeInput();
    input.setArgsList([fn, ...args].map((a) => Buffer.from(a, 'utf8')));
    const spec = new peer.ChaincodeSpec();
    spec.setType(peer.ChaincodeSpec.Type.NODE);
    const ccId = new peer.ChaincodeID();
    ccId.setName('consentry');
    spec.setChaincodeId(ccId);
    spec.setInput(input);
    const invocation = new peer.ChaincodeInvocationSpec();
    invocation.setChaincodeSpec(spec);
    const payload = new peer.ChaincodeProposalPayload();
    payload.setInput(invocation.serializeBinary());
    const proposal = new peer.Proposal();
    proposal.setHeader(header.serializeBinary());
    proposal.setPayload(payload.serializeBinary());
    const signed = new peer.SignedProposal();
    signed.setProposalBytes(proposal.serializeBinary());
    signed.setSignature(Buffer.alloc(0));

    this.ledger.begin(txId);
    let response: { status: number; message?: string; payload?: Buffer };
    const stub = new ChaincodeStub(this.ledger, CHANNEL, txId, input, signed);
    try {
      response = await this.chaincode.Invoke(stub);
    } catch (err) {
      this.ledger.end(txId, false, seconds, nanos);
      throw err;
    }
    const ok = response.status === 200;
    const writes = this.ledger.end(txId, commit && ok, seconds, nanos);
    const event = stub.chaincodeEvent;
    return {
      txId,
      status: response.status,
      message: response.message ?? '',
      payload: response.payload ? Buffer.from(response.payload).toString('utf8') : '',
      event: ok && event ? { name: event.getEventName(), payload: Buffer.from(event.getPayload_asU8()).toString('utf8') } : undefined,
      writes: writes.map((w) => ({ key: w.key, value: w.value?.toString('utf8') })),
    };
  }

  submit(who: Identity, fn: string, args: string[], opts?: InvokeOptions): Promise<TxResult> {
    return this.invoke(who, fn, args, true, opts);
  }

  evaluate(who: Identity, fn: string, args: string[], opts?: InvokeOptions): Promise<TxResult> {
    return this.invoke(who, fn, args, false, opts);
  }
}

/** The parsed payload of a successful transaction; fails with the chaincode's message otherwise. */
export function ok<T = any>(result: TxResult): T {
  if (result.status !== 200) throw new Error(`expected success, got ${result.status}: ${result.message}`);
  return JSON.parse(result.payload) as T;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
