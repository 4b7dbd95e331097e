// Proves the CCaaS container's command works on the built (ES module) chaincode: fabric-shim's bootstrap
// require()s package.json "main" (Node >= 20.19 loads ESM through require), the gRPC chaincode server
// starts, registers with a peer under the package ID, and dispatches a transaction to the contract.
// The "peer" here is this test, speaking the chaincode protocol with the real protobuf messages.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { common, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueIdentity } from '../../devpeer/msp/ca.js';
import { serializeIdentity } from '../../devpeer/msp/serialize.js';

const root = path.resolve(import.meta.dirname, '../..');
const chaincodeDir = path.join(root, 'chaincode');
const require = createRequire(import.meta.url);
const PACKAGE_ID = `consentry_1.0:${'ab'.repeat(32)}`;

let server: ChildProcess | undefined;
let serverOutput = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (server?.exitCode !== null || Date.now() > deadline) {
      throw new Error(`chaincode server did not listen on ${port}:\n${serverOutput}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A signed proposal as a peer forwards it: the shim reads creator, tx id and timestamp from it. */
async function signedProposal(txId: string, args: string[]): Promise<peer.SignedProposal> {
  const ca = await createCertificateAuthority('HospitalAMSP');
  const user = await issueIdentity(ca, { commonName: 'alice', attrs: { role: 'patient' } });
  const ts = new Timestamp();
  ts.fromDate(new Date());
  const ccId = new peer.ChaincodeID();
  ccId.setName('consentry');
  const ext = new peer.ChaincodeHeaderExtension();
  ext.setChaincodeId(ccId);
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
  ch.setChannelId('consentry');
  ch.setTxId(txId);
  ch.setTimestamp(ts);
  ch.setExtension$(ext.serializeBinary());
  const sh = new common.SignatureHeader();
  sh.setCreator(serializeIdentity('HospitalAMSP', user.certPem));
  sh.setNonce(crypto.randomBytes(24));
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(sh.serializeBinary());
  const input = new peer.ChaincodeInput();
  input.setArgsList(args.map((a) => Buffer.from(a)));
  const spec = new peer.ChaincodeSpec();
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
  signed.setSignature(crypto.sign('sha256', proposal.serializeBinary(), crypto.createPrivateKey(user.keyPem)));
  return signed;
}

beforeAll(async () => {
  // What the Dockerfile's build stage runs (npm run build -w chaincode), without npm's start-up cost.
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: chaincodeDir,
    stdio: 'pipe',
  });
}, 120_000);

afterAll(() => {
  server?.kill('SIGKILL');
});

describe('chaincode as a service', () => {
  it("loads through fabric-shim's bootstrap (require of the ES module entry)", async () => {
    const bootstrap = require('fabric-shim/lib/contract-spi/bootstrap.js');
    const { Contract } = require('fabric-contract-api');
    const info = bootstrap.getInfoFromContract(chaincodeDir);
    expect(info.title).toBe('consentry-chaincode');
    expect(info.contracts.length).toBeGreaterThan(0);
    for (const C of info.contracts) expect(new C()).toBeInstanceOf(Contract);
    expect(info.contracts.map((C: new () => { getName(): string }) => new C().getName())).toContain('consentry');
  });

  it('serves a peer: REGISTER with the package ID, then runs a contract transaction against peer state', async () => {
    const port = await freePort();
    server = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules/fabric-shim/cli.js'),
        'server',
        `--chaincode-address=127.0.0.1:${port}`,
        `--chaincode-id=${PACKAGE_ID}`,
      ],
      { cwd: chaincodeDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d) => (serverOutput += d));
    server.stderr!.on('data', (d) => (serverOutput += d));
    await waitForPort(port, 20_000);

    const client = new peer.ChaincodeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stream = client.connect();
    const received: peer.ChaincodeMessage[] = [];
    const waiters: (() => void)[] = [];
    stream.on('data', (m: peer.ChaincodeMessage) => {
      received.push(m);
      waiters.splice(0).forEach((w) => w());
    });
    stream.on('error', () => undefined);
    const next = async (): Promise<peer.ChaincodeMessage> => {
      const deadline = Date.now() + 10_000;
      while (received.length === 0) {
        if (Date.now() > deadline) throw new Error(`no message from the chaincode:\n${serverOutput}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return received.shift()!;
    };

    try {
      const register = await next();
      expect(register.getType()).toBe(peer.ChaincodeMessage.Type.REGISTER);
      expect(peer.ChaincodeID.deserializeBinary(register.getPayload_asU8()).getName()).toBe(PACKAGE_ID);

      for (const type of [peer.ChaincodeMessage.Type.REGISTERED, peer.ChaincodeMessage.Type.READY]) {
        const m = new peer.ChaincodeMessage();
        m.setType(type);
        stream.write(m);
      }
      // A real evaluate: the contract reads world state through the shim, the "peer" answers.
      const txId = crypto.randomBytes(32).toString('hex');
      const args = ['consentry:GetPatient', 'p-alice'];
      const input = new peer.ChaincodeInput();
      input.setArgsList(args.map((a) => Buffer.from(a)));
      const tx = new peer.ChaincodeMessage();
      tx.setType(peer.ChaincodeMessage.Type.TRANSACTION);
      tx.setTxid(txId);
      tx.setChannelId('consentry');
      tx.setPayload(input.serializeBinary());
      tx.setProposal(await signedProposal(txId, args));
      stream.write(tx);

      const record = { pseudonym: 'p-alice', homeMsp: 'HospitalAMSP', status: 'active', createdAt: '2026-01-01T00:00:00.000Z' };
      const getState = await next();
      expect(getState.getType()).toBe(peer.ChaincodeMessage.Type.GET_STATE);
      expect(getState.getTxid()).toBe(txId);
      expect(peer.GetState.deserializeBinary(getState.getPayload_asU8()).getKey()).toContain('p-alice');
      const reply = new peer.ChaincodeMessage();
      reply.setType(peer.ChaincodeMessage.Type.RESPONSE);
      reply.setTxid(txId);
      reply.setChannelId('consentry');
      reply.setPayload(Buffer.from(JSON.stringify(record)));
      stream.write(reply);

      const done = await next();
      expect(done.getType()).toBe(peer.ChaincodeMessage.Type.COMPLETED);
      expect(done.getTxid()).toBe(txId);
      const response = peer.Response.deserializeBinary(done.getPayload_asU8());
      expect(response.getStatus(), response.getMessage()).toBe(200);
      expect(JSON.parse(Buffer.from(response.getPayload_asU8()).toString('utf8'))).toEqual(record);
    } finally {
      stream.end();
      client.close();
    }
  });
});
