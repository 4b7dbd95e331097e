// Crash safety of the standalone devpeer (`devpeer/main.ts` in its own process): SIGKILL it while 200
// submits are in flight, restart it, and check that every transaction a client saw VALID survived, that
// ledger:verify accepts the chain, and that world state equals a replay of the stored blocks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { peer } from '@hyperledger/fabric-protos';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBlock } from '../../devpeer/gateway/blockevents.js';
import { ledgerDir, openLedger, parseEndorserTransaction } from '../../devpeer/ledger/index.js';
import { connectUser, tempDir, userFrom, type Connection } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

interface Announcement {
  endpoint: string;
  channel: string;
  chaincode: string;
  orgs: { mspId: string; caCert: string; adminCert: string; adminKey: string }[];
}

const children: ChildProcess[] = [];

/** The devpeer CLI as one node process (not behind the tsx wrapper, which a SIGKILL would not reach through). */
async function startCli(dataDir: string): Promise<{ child: ChildProcess; info: Announcement; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'devpeer/main.ts'), '--data', dataDir], {
    cwd: ROOT,
    env: { ...process.env, PEER_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then((code) => reject(new Error(`devpeer exited (${code}) before its first line:\n${stderr}`)));
  });
  return { child, info: JSON.parse(first) as Announcement, exited };
}

function adminOf(info: Announcement) {
  const org = info.orgs[0];
  return userFrom(org.mspId, fs.readFileSync(org.adminCert, 'utf8'), fs.readFileSync(org.adminKey, 'utf8'));
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('devpeer process crash', () => {
  it('keeps every transaction a client saw VALID across a SIGKILL, with a verifiable chain and replayable state', async () => {
    const dataDir = await tempDir('devpeer-crash-');
    const first = await startCli(dataDir);
    expect(first.info).toMatchObject({ channel: 'consentry', chaincode: 'consentry' });
    expect(first.info.orgs.map((o) => o.mspId)).toEqual(['HospitalAMSP', 'HospitalBMSP']);
    for (const org of first.info.orgs) for (const file of [org.caCert, org.adminCert, org.adminKey]) expect(fs.existsSync(file)).toBe(true);

    let conn: Connection = connectUser(first.info.endpoint, adminOf(first.info));
    let contract = conn.gateway.getNetwork('consentry').getContract('consentry');
    const seenValid: string[] = [];
    const inFlight = Array.from({ length: 200 }, async (_, i) => {
      const args = [JSON.stringify({ pseudonym: `crash-${i}`, encryptionKey: KEY })];
      const submitted = await contract.submitAsync('RegisterPatient', { arguments: args });
      const status = await submitted.getStatus();
      if (status.code === peer.TxValidationCode.VALID) seenValid.push(submitted.getTransactionId());
    });
    while (seenValid.length < 25) await new Promise((r) => setTimeout(r, 2));
    first.child.kill('SIGKILL');
    await Promise.allSettled(inFlight);
    await first.exited;
    conn.close();
    expect(seenValid.length).toBeLessThan(200); // the kill really interrupted work in flight

    const second = await startCli(dataDir);
    conn = connectUser(second.info.endpoint, adminOf(second.info));
    contract = conn.gateway.getNetwork('consentry').getContract('qscc');
    for (const txId of seenValid) {
      const processed = peer.ProcessedTransaction.deserializeBinary(await contract.evaluateTransaction('GetTransactionByID', 'consentry', txId));
      expect(processed.getValidationcode()).toBe(peer.TxValidationCode.VALID);
    }
    conn.close();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const verify = spawnSync('npm', ['run', '--silent', 'ledger:verify', '--', '--data', dataDir], { cwd: ROOT, encoding: 'utf8' });
    expect(verify.status, `${verify.stdout}\n${verify.stderr}`).toBe(0);

    const ledger = await openLedger({ dir: ledgerDir(dataDir, 'consentry'), channel: 'consentry', log: () => undefined });
    try {
      const replayed = new Map<string, string>();
      for (let n = 0; n < ledger.height(); n++) {
        const block = ledger.getBlock(n)!;
        for (const tx of describeBlock(block).transactions) {
          if (n === 0 || tx.validationCode !== peer.TxValidationCode.VALID) continue;
          const envelope = ledger.getTransaction(tx.txId)!.envelope;
          for (const set of parseEndorserTransaction(envelope).rwsets) {
            for (const w of set.writes) {
              const key = `${set.namespace}\u0000${w.key}`;
              if (w.isDelete) replayed.delete(key);
              else replayed.set(key, Buffer.from(w.value).toString('base64'));
            }
          }
        }
      }
      const state = new Map<string, string>();
      for (const { key, value } of ledger.getStateRange('consentry', '', '')) state.set(`consentry\u0000${key}`, Buffer.from(value.value).toString('base64'));
      expect(state.size).toBeGreaterThanOrEqual(seenValid.length);
      expect(state).toEqual(replayed);
    } finally {
      await ledger.close();
    }
  }, 90_000);
});
