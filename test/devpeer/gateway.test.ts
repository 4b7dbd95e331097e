// The unmodified @hyperledger/fabric-gateway client against the devpeer: transactions, queries, errors
// with their gRPC codes and details, and the validation a Fabric peer performs on every request.
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CommitError, EndorseError, GatewayError, type Contract } from '@hyperledger/fabric-gateway';
import { common, gateway as gw, ledger as ledgerProtos, msp as mspProtos, peer } from '@hyperledger/fabric-protos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueIdentity } from '../../devpeer/msp/ca.js';
import { KvContract } from './fixtures/kvcontract.js';
import { connectUser, newUser, startTestPeer, userFrom, utf8, type Connection, type TestPeer, type User } from './support.js';

let peerNode: TestPeer;
let alice: User;
let conn: Connection;
let kv: Contract;

beforeAll(async () => {
  peerNode = await startTestPeer({ chaincode: 'kv', contracts: [KvContract], blockTimeoutMs: 20, maxArgsBytes: 64 * 1024 });
  alice = await newUser(peerNode.caOf('HospitalAMSP'), 'alice', { role: 'patient', pseudonym: 'p-alice' });
  conn = connectUser(peerNode.endpoint, alice);
  kv = conn.gateway.getNetwork('consentry').getContract('kv');
});

afterAll(async () => {
  conn?.close();
  await peerNode?.stop();
});

async function expectRejection(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

function rawUnary(client: grpc.Client, method: string, body: Buffer): Promise<grpc.ServiceError | Buffer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, (err, value) => resolve(err ?? (value as Buffer)));
  });
}

async function qscc(fn: string, ...args: string[]): Promise<Uint8Array> {
  return conn.gateway.getNetwork('consentry').getContract('qscc').evaluateTransaction(fn, 'consentry', ...args);
}

describe('transactions through the gateway', () => {
  it('submits, evaluates committed state, and reports commit status with the block number', async () => {
    expect(utf8(await kv.submitTransaction('Put', 'color', 'blue'))).toBe('');
    expect(utf8(await kv.evaluateTransaction('Get', 'color'))).toBe('blue');

    const submitted = await kv.submitAsync('Put', { arguments: ['color', 'green'] });
    const status = await submitted.getStatus();
    expect(status).toMatchObject({ successful: true, code: peer.TxValidationCode.VALID, transactionId: submitted.getTransactionId() });
    expect(status.blockNumber).toBeGreaterThan(0n);
    expect(utf8(await kv.evaluateTransaction('Get', 'color'))).toBe('green');

    const processed = peer.ProcessedTransaction.deserializeBinary(await qscc('GetTransactionByID', submitted.getTransactionId()));
    expect(processed.getValidationcode()).toBe(peer.TxValidationCode.VALID);
    const block = common.Block.deserializeBinary(await qscc('GetBlockByTxID', submitted.getTransactionId()));
    expect(block.getHeader()?.getNumber()).toBe(Number(status.blockNumber));
    const info = common.BlockchainInfo.deserializeBinary(await qscc('GetChainInfo'));
    expect(info.getHeight()).toBe(peerNode.ledger.height());
    const byNumber = common.Block.deserializeBinary(await qscc('GetBlockByNumber', String(status.blockNumber)));
    expect(Buffer.from(byNumber.serializeBinary()).equals(Buffer.from(block.serializeBinary()))).toBe(true);
  });

  it('surfaces a chaincode error as an EndorseError with the endorsing peer in its details', async () => {
    const err = await expectRejection(kv.submitTransaction('Fail', 'patient not found'));
    expect(err).toBeInstanceOf(EndorseError);
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.message).toContain('failed to endorse transaction, see attached details for more info');
    expect(err.details).toEqual([{ address: peerNode.endpoint, mspId: 'HospitalAMSP', message: 'chaincode response 500, patient not found' }]);

    const evalErr = await expectRejection(kv.evaluateTransaction('Fail', 'nope'));
    expect(evalErr.code).toBe(grpc.status.UNKNOWN);
    expect(evalErr.message).toContain('evaluate call to endorser returned error: chaincode response 500, nope');
  });

  it('reports an unknown function as a chaincode error', async () => {
    const err = await expectRejection(kv.evaluateTransaction('NoSuchFunction'));
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.message).toMatch(/chaincode response 500, .*NoSuchFunction/);
  });

  it('endorses with the organizations the client names', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['both', 'x'], endorsingOrganizations: ['HospitalAMSP', 'HospitalBMSP'] }).endorse();
    const env = common.Envelope.deserializeBinary(gw.PreparedTransaction.deserializeBinary(tx.getBytes()).getEnvelope()!.serializeBinary());
    const action = peer.Transaction.deserializeBinary(common.Payload.deserializeBinary(env.getPayload_asU8()).getData_asU8()).getActionsList()[0];
    const endorsements = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()).getAction()!.getEndorsementsList();
    expect(endorsements.map((e) => mspProtos.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid())).toEqual(['HospitalAMSP', 'HospitalBMSP']);
    expect((await (await tx.submit()).getStatus()).successful).toBe(true);

    const err = await expectRejection(kv.newProposal('Put', { arguments: ['x', 'y'], endorsingOrganizations: ['HospitalCMSP'] }).endorse());
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toContain('failed to find any endorsing peers for org(s): HospitalCMSP');
  });
});

describe('block cutting', () => {
  it('commits a lone transaction at once, without waiting out the block timeout', async () => {
    const slow = await startTestPeer({ chaincode: 'kv', contracts: [KvContract], blockTimeoutMs: 60_000 });
    const c = connectUser(slow.endpoint, await newUser(slow.caOf('HospitalAMSP'), 'dave'));
    try {
      const contract = c.gateway.getNetwork('consentry').getContract('kv');
      const started = performance.now();
      await contract.submitTransaction('Put', 'alone', '1');
      await contract.submitTransaction('Put', 'alone', '2');
      expect(performance.now() - started).toBeLessThan(10_000); // far below the 60 s block timeout
      expect(slow.ledger.height()).toBe(3);
    } finally {
      c.close();
      await slow.stop();
    }
  });
});

describe('commit-time validation', () => {
  it('fails one of two concurrent read-modify-write transactions in a block with MVCC_READ_CONFLICT', async () => {
    // Blocks of two: the first transaction waits in the orderer until the second, endorsed against the
    // same state, joins it.
    const pairs = await startTestPeer({ chaincode: 'kv', contracts: [KvContract], blockMaxTx: 2, blockTimeoutMs: 5_000 });
    const c = connectUser(pairs.endpoint, await newUser(pairs.caOf('HospitalAMSP'), 'carol'));
    try {
      const contract = c.gateway.getNetwork('consentry').getContract('kv');
      const results = await Promise.allSettled([contract.submitTransaction('Increment', 'counter'), contract.submitTransaction('Increment', 'counter')]);
      const failed = results.filter((r) => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(failed).toHaveLength(1);
      const err = (failed[0] as PromiseRejectedResult).reason as CommitError;
      expect(err).toBeInstanceOf(CommitError);
      expect(err.code).toBe(peer.TxValidationCode.MVCC_READ_CONFLICT);
      expect(utf8(await contract.evaluateTransaction('Get', 'counter'))).toBe('1');
      expect(pairs.ledger.height()).toBe(2);
    } finally {
      c.close();
      await pairs.stop();
    }
  });

  it('fails a range read whose range gained a key before it committed with PHANTOM_READ_CONFLICT', async () => {
    await kv.submitTransaction('Put', 'room/1', 'a');
    const count = await kv.newProposal('CountRange', { arguments: ['room/', 'room/~', 'room-count'] }).endorse();
    const insert = await kv.newProposal('Put', { arguments: ['room/2', 'b'] }).endorse();
    const inserted = await insert.submit();
    const counted = await count.submit();
    expect((await inserted.getStatus()).code).toBe(peer.TxValidationCode.VALID);
    expect((await counted.getStatus()).code).toBe(peer.TxValidationCode.PHANTOM_READ_CONFLICT);
    expect(utf8(await kv.evaluateTransaction('Get', 'room-count'))).toBe('');
  });

  it('rejects a proposal whose transaction id is already on the ledger', async () => {
    const proposal = kv.newProposal('Put', { arguments: ['dup', '1'] });
    const bytes = proposal.getBytes();
    await (await (await proposal.endorse()).submit()).getStatus();

    const err = await expectRejection(conn.gateway.newProposal(bytes).endorse());
    expect(err).toBeInstanceOf(EndorseError);
    expect(err.details[0].message).toMatch(new RegExp(`^duplicate transaction found \\[${proposal.getTransactionId()}\\]`));
  });

  it('marks a resubmitted envelope DUPLICATE_TXID in its block and applies it once', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['once', 'v1'] }).endorse();
    const first = await (await tx.submit()).getStatus();
    expect(first.code).toBe(peer.TxValidationCode.VALID);
    const height = peerNode.ledger.height();

    const again = await conn.gateway.newTransaction(tx.getBytes()).submit();
    // Like Fabric, the commit status of a transaction id is that of its first (valid) occurrence.
    expect(await again.getStatus()).toMatchObject({ code: peer.TxValidationCode.VALID, blockNumber: first.blockNumber });
    await waitFor(() => peerNode.ledger.height() > height);
    const block = common.Block.deserializeBinary(await qscc('GetBlockByNumber', String(height)));
    const filter = block.getMetadata()!.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
    expect([...filter]).toEqual([peer.TxValidationCode.DUPLICATE_TXID]);
    expect(peerNode.ledger.getHistory('kv', 'once')).toHaveLength(1);
  });

  it('rejects a prepared transaction whose endorsed results were altered', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['vault', 'small'] }).endorse();
    const tampered = rewriteWrites(tx.getBytes(), (value) => (value ? Buffer.from('huge') : value));
    const err = await expectRejection(conn.gateway.newTransaction(tampered).submit());
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.message).toContain('received unsuccessful response from orderer: status=BAD_REQUEST');
    expect(err.message).toContain('endorsement');
    expect(utf8(await kv.evaluateTransaction('Get', 'vault'))).toBe('');
  });

  it('waits for a transaction that has not committed yet before reporting its status', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['later', 'x'] }).endorse();
    const request = new gw.CommitStatusRequest();
    request.setChannelId('consentry');
    request.setTransactionId(tx.getTransactionId());
    const sid = new mspProtos.SerializedIdentity();
    sid.setMspid('HospitalAMSP');
    sid.setIdBytes(Buffer.from(alice.certPem));
    request.setIdentity(sid.serializeBinary());
    const signed = new gw.SignedCommitStatusRequest();
    signed.setRequest(request.serializeBinary());
    const pending = conn.gateway.newCommit(signed.serializeBinary()).getStatus();
    let settled = false;
    void pending.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    await tx.submit();
    expect((await pending).code).toBe(peer.TxValidationCode.VALID);
  });
});

describe('request validation', () => {
  it('rejects a proposal signed with a key that does not match the certificate', async () => {
    const mallory = await newUser(peerNode.caOf('HospitalAMSP'), 'mallory');
    const forged = connectUser(peerNode.endpoint, { identity: alice.identity, signer: mallory.signer });
    try {
      const contract = forged.gateway.getNetwork('consentry').getContract('kv');
      const err = await expectRejection(contract.submitTransaction('Put', 'color', 'forged'));
      expect(err).toBeInstanceOf(EndorseError);
      expect(err.details[0].message).toContain('error validating proposal: access denied: channel [consentry] creator org [HospitalAMSP]');
      expect(err.details[0].message).toContain('signature');
      const evalErr = await expectRejection(contract.evaluateTransaction('Get', 'color'));
      expect(evalErr.code).toBe(grpc.status.FAILED_PRECONDITION);
    } finally {
      forged.close();
    }
  });

  it('rejects a certificate issued by a CA the channel does not trust', async () => {
    const rogueCa = await createCertificateAuthority('HospitalAMSP');
    const rogue = await newUser(rogueCa, 'eve', { role: 'admin' });
    const c = connectUser(peerNode.endpoint, rogue);
    try {
      const err = await expectRejection(c.gateway.getNetwork('consentry').getContract('kv').submitTransaction('Put', 'color', 'rogue'));
      expect(err).toBeInstanceOf(EndorseError);
      expect(err.details[0].message).toMatch(/access denied: channel \[consentry\] creator org \[HospitalAMSP\] \(.*not signed by the CA of HospitalAMSP/);
    } finally {
      c.close();
    }
    expect(utf8(await kv.evaluateTransaction('Get', 'color'))).not.toBe('rogue');
  });

  it('rejects an unknown organization and an expired certificate', async () => {
    const otherCa = await createCertificateAuthority('EvilMSP');
    const outsider = connectUser(peerNode.endpoint, await newUser(otherCa, 'outsider'));
    const past = new Date(Date.now() - 10 * 86_400_000);
    const expiredMaterial = await issueIdentity(peerNode.caOf('HospitalBMSP'), { commonName: 'old', notBefore: past, notAfter: new Date(past.getTime() + 86_400_000) });
    const expired = connectUser(peerNode.endpoint, userFrom(expiredMaterial.mspId, expiredMaterial.certPem, expiredMaterial.keyPem));
    try {
      const e1 = await expectRejection(outsider.gateway.getNetwork('consentry').getContract('kv').evaluateTransaction('Get', 'color'));
      expect(e1.message).toContain('creator org unknown');
      const e2 = await expectRejection(expired.gateway.getNetwork('consentry').getContract('kv').submitTransaction('Put', 'k', 'v'));
      expect(e2.details[0].message).toMatch(/creator org \[HospitalBMSP\] \(.*expired/);
    } finally {
      outsider.close();
      expired.close();
    }
  });

  it('answers malformed protobuf with INVALID_ARGUMENT and keeps serving', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    for (const method of ['Evaluate', 'Endorse', 'Submit', 'CommitStatus']) {
      const res = await rawUnary(conn.client, `/gateway.Gateway/${method}`, garbage);
      expect(res).toBeInstanceOf(Error);
      expect((res as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((res as grpc.ServiceError).details).toMatch(/error unmarshalling \w+: proto: cannot parse invalid wire-format data/);
    }
    const badProposal = new gw.EvaluateRequest();
    const sp = new peer.SignedProposal();
    sp.setProposalBytes(Buffer.from('not a proposal at all'));
    badProposal.setProposedTransaction(sp);
    const res = (await rawUnary(conn.client, '/gateway.Gateway/Evaluate', Buffer.from(badProposal.serializeBinary()))) as grpc.ServiceError;
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.details).toMatch(/^failed to unpack transaction proposal: /);
    expect(utf8(await kv.evaluateTransaction('Get', 'color'))).toBe('green');
  });

  it('answers an unknown channel with NOT_FOUND', async () => {
    const other = conn.gateway.getNetwork('elsewhere').getContract('kv');
    const err = await expectRejection(other.evaluateTransaction('Get', 'color'));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.message).toContain("channel 'elsewhere' not found");
    const endorseErr = await expectRejection(other.submitTransaction('Put', 'a', 'b'));
    expect(endorseErr).toBeInstanceOf(EndorseError);
    expect(endorseErr.code).toBe(grpc.status.NOT_FOUND);
  });

  it('refuses arguments over the size limit with RESOURCE_EXHAUSTED', async () => {
    const err = await expectRejection(kv.submitTransaction('Put', 'big', 'x'.repeat(100 * 1024)));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.message).toMatch(/more than the limit of 65536 bytes/);
    expect(utf8(await kv.evaluateTransaction('Get', 'big'))).toBe('');
  });

  it('refuses a prepared transaction whose envelope signature is not the creator\'s', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['sealed', 'x'] }).endorse();
    const mallory = await newUser(peerNode.caOf('HospitalAMSP'), 'mallory-2');
    const forgedSignature = await mallory.signer(tx.getDigest()); // a valid signature, by the wrong key
    const err = await expectRejection(conn.gateway.newSignedTransaction(tx.getBytes(), forgedSignature).submit());
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.message).toContain('received unsuccessful response from orderer: status=FORBIDDEN');
  });

  it('refuses a commit status request signed by someone else', async () => {
    const tx = await kv.newProposal('Put', { arguments: ['a', 'b'] }).endorse();
    const submitted = await tx.submit();
    const forged = conn.gateway.newSignedCommit(submitted.getBytes(), crypto.randomBytes(70));
    const err = await expectRejection(forged.getStatus());
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await submitted.getStatus()).successful).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Re-encodes a PreparedTransaction with every write value passed through `edit`. */
function rewriteWrites(preparedBytes: Uint8Array, edit: (value: Uint8Array) => Uint8Array): Uint8Array {
  const prepared = gw.PreparedTransaction.deserializeBinary(preparedBytes);
  const envelope = prepared.getEnvelope()!;
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = tx.getActionsList()[0];
  const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const endorsed = cap.getAction()!;
  const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
  const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
  const rwset = ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(ccAction.getResults_asU8());
  for (const ns of rwset.getNsRwsetList()) {
    const kvrw = ledgerProtos.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    for (const w of kvrw.getWritesList()) w.setValue(edit(w.getValue_asU8()));
    ns.setRwset(kvrw.serializeBinary());
  }
  ccAction.setResults(rwset.serializeBinary());
  prp.setExtension$(ccAction.serializeBinary());
  endorsed.setProposalResponsePayload(prp.serializeBinary());
  action.setPayload(cap.serializeBinary());
  payload.setData(tx.serializeBinary());
  envelope.setPayload(payload.serializeBinary());
  envelope.setSignature(new Uint8Array(0));
  return prepared.serializeBinary();
}
