import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { common } from '@hyperledger/fabric-protos';
import { afterEach, describe, expect, it } from 'vitest';
import { TxValidationCode as Code, verifyLedger } from '../../devpeer/ledger/index.js';
import { frameRecord } from '../../devpeer/ledger/framing.js';
import { cleanupDirs, open, records, tempLedgerDir } from './helpers.js';
import { buildEnvelope } from './txbuilder.js';

afterEach(cleanupDirs);

const repo = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'devpeer/verify.ts', ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** A ledger with a valid tx, an MVCC conflict and a duplicate, over three blocks. */
async function sampleLedger(dir: string): Promise<void> {
  const l = await open(dir);
  await l.commitBlock([buildEnvelope({ txId: 't1', writes: [{ key: 'a', value: '1' }] })]);
  await l.commitBlock([
    buildEnvelope({ txId: 't2', reads: [{ key: 'a', version: { blockNum: 1, txNum: 0 } }], writes: [{ key: 'a', value: '2' }] }),
    buildEnvelope({ txId: 't3', reads: [{ key: 'a', version: { blockNum: 1, txNum: 0 } }], writes: [{ key: 'a', value: '3' }] }),
  ]);
  await l.commitBlock([buildEnvelope({ txId: 't1', writes: [{ key: 'b', value: 'dup' }] }), buildEnvelope({ txId: 't4' })]);
  await l.close();
}

/** Rewrites block `num` in place with a different transactions filter and valid record checksums. */
function forgeFilter(dir: string, num: number, filter: number[]): void {
  const file = join(dir, 'blocks.dat');
  const rec = records(file)[num];
  const buf = readFileSync(file);
  const block = common.Block.deserializeBinary(buf.subarray(rec.offset + 24, rec.offset + rec.length));
  const md = block.getMetadata()!.getMetadataList_asU8();
  md[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from(filter);
  block.getMetadata()!.setMetadataList(md);
  const framed = frameRecord(num, block.serializeBinary());
  expect(framed.length).toBe(rec.length);
  framed.copy(buf, rec.offset);
  writeFileSync(file, buf);
}

describe('verifyLedger', () => {
  it('re-validates every transaction and reports the chain, state and snapshot', async () => {
    const dir = tempLedgerDir();
    await sampleLedger(dir);
    const r = await verifyLedger(dir);
    expect(r).toMatchObject({
      ok: true,
      channel: 'consent',
      height: 4,
      transactions: 6,
      validTransactions: 4, // genesis, t1, t2, t4
      stateKeys: 1,
      snapshot: 'matches',
    });
    expect(r.firstBadBlock).toBeUndefined();
  });

  it('names the block whose stored validation results do not re-validate, even with intact checksums', async () => {
    const dir = tempLedgerDir();
    await sampleLedger(dir);
    forgeFilter(dir, 2, [Code.VALID, Code.VALID]); // claim the MVCC conflict was valid
    const r = await verifyLedger(dir);
    expect([r.ok, r.firstBadBlock]).toEqual([false, 2]);
    expect(r.message).toMatch(/block 2 is corrupt: transaction 1 \(t3\) is recorded as VALID but re-validates as MVCC_READ_CONFLICT/);
    // Start-up trusts blocks covered by a snapshot beyond their checksums and hash chain; replaying
    // them (no snapshot) catches the forgery through the commit hash chain.
    rmSync(join(dir, 'state.snapshot'));
    await expect(open(dir)).rejects.toThrow(/block 2 is corrupt: commit hash mismatch/);
  });
});

describe('npm run ledger:verify', () => {
  it('exits 0 for a good ledger, found from the data root, the ledger folder or DATA_DIR', async () => {
    const dir = tempLedgerDir();
    await sampleLedger(dir);
    const dataRoot = dirname(dirname(dirname(dir)));
    for (const run of [cli(['--data', dataRoot]), cli([`--data=${dir}`]), cli([], { DATA_DIR: dataRoot })]) {
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/OK .*consent/);
      expect(run.out).toMatch(/4 blocks, 6 transactions \(4 valid\)/);
    }
  });

  it('exits non-zero and names the first bad block when a byte is flipped', async () => {
    const dir = tempLedgerDir();
    await sampleLedger(dir);
    const file = join(dir, 'blocks.dat');
    const buf = readFileSync(file);
    const rec = records(file)[2];
    buf[rec.offset + rec.length - 40] ^= 0x04;
    writeFileSync(file, buf);
    const run = cli(['--data', dirname(dirname(dirname(dir)))]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/FAIL .*consent/);
    expect(run.out).toMatch(/block 2 is corrupt/);
  });

  it('exits non-zero when there is no ledger', () => {
    const run = cli(['--data', join(repo, 'no-such-folder')]);
    expect(run.code).toBe(2);
    expect(run.out).toMatch(/no ledger found/);
  });
});
