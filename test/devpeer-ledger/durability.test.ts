import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLedger, type FileLedger } from '../../devpeer/ledger/index.js';
import { cleanupDirs, open, records, tempLedgerDir, text } from './helpers.js';
import { CHAINCODE as CC, buildEnvelope, txIdOf } from './txbuilder.js';

afterEach(cleanupDirs);

const blockFile = (dir: string) => join(dir, 'blocks.dat');
const snapshotFile = (dir: string) => join(dir, 'state.snapshot');

/** blocks 1..n, each writing k<i> and rewriting 'shared'; block 3 also deletes k1 */
async function ledgerWithBlocks(dir: string, n: number, opts = {}): Promise<{ l: FileLedger; txIds: string[] }> {
  const l = await open(dir, opts);
  const txIds: string[] = [];
  for (let i = 1; i <= n; i++) {
    const writes = [
      { key: `k${i}`, value: `value ${i}` },
      { key: 'shared', value: `from block ${i}` },
    ];
    if (i === 3) writes.push({ key: 'k1', value: '', isDelete: true } as never);
    const env = buildEnvelope({ writes, event: { name: 'E', payload: String(i) } });
    txIds.push(txIdOf(env));
    await l.commitBlock([env]);
  }
  return { l, txIds };
}

function dump(l: FileLedger) {
  return {
    height: l.height(),
    info: l.chainInfo(),
    commitHash: Buffer.from(l.commitHash()).toString('hex'),
    state: [...l.getStateRange(CC, '', '')].map((kv) => [kv.key, text(kv.value.value), kv.value.version]),
    history: ['k1', 'shared', 'k4'].map((k) => l.getHistory(CC, k).map((h) => [h.txId, h.blockNum, h.isDelete, text(h.value)])),
  };
}

describe('durable appends', () => {
  it('has the block on disk when commitBlock resolves', async () => {
    const dir = tempLedgerDir();
    const l = await open(dir);
    const before = statSync(blockFile(dir)).size;
    const b = await l.commitBlock([buildEnvelope({ writes: [{ key: 'x', value: 'y' }] })]);
    const after = readFileSync(blockFile(dir));
    expect(after.length).toBe(before + 24 + b.block.length);
    expect(after.subarray(after.length - b.block.length)).toEqual(Buffer.from(b.block));
    await l.close();
  });
});

describe('torn tail recovery', () => {
  it('drops an incomplete last record and loses only that block', async () => {
    const dir = tempLedgerDir();
    const { l, txIds } = await ledgerWithBlocks(dir, 4, { snapshotOnClose: false });
    await l.close();
    const recs = records(blockFile(dir));
    const last = recs[recs.length - 1];
    truncateSync(blockFile(dir), last.offset + Math.floor(last.length / 2)); // crash mid-append of block 4

    const logs: string[] = [];
    const l2 = await open(dir, { log: (m) => logs.push(m) });
    expect(l2.height()).toBe(4);
    expect(l2.startup.tornTailBytes).toBe(Math.floor(last.length / 2));
    expect(logs.join('\n')).toMatch(/torn tail .* after block 3/);
    expect(statSync(blockFile(dir)).size).toBe(last.offset);
    expect(l2.getState(CC, 'k4')).toBeUndefined();
    expect(text(l2.getState(CC, 'shared')?.value)).toBe('from block 3');
    expect(l2.hasTransaction(txIds[3])).toBe(false);
    expect(l2.hasTransaction(txIds[2])).toBe(true);
    // the chain continues where it stopped
    await l2.commitBlock([buildEnvelope({ writes: [{ key: 'k4', value: 'again' }] })]);
    await l2.close();
    expect((await verifyLedger(dir)).ok).toBe(true);
  });

  it('treats a cut inside the record header and a zero-filled tail as torn', async () => {
    const dir = tempLedgerDir();
    const { l } = await ledgerWithBlocks(dir, 2);
    await l.close();
    const size = statSync(blockFile(dir)).size;
    appendFileSync(blockFile(dir), Buffer.from('FBLK\x00\x00')); // a few header bytes of a next record
    let l2 = await open(dir);
    expect([l2.height(), l2.startup.tornTailBytes]).toEqual([3, 6]);
    await l2.close();
    appendFileSync(blockFile(dir), Buffer.alloc(4096)); // a preallocated, never-written tail
    l2 = await open(dir);
    expect([l2.height(), l2.startup.tornTailBytes]).toEqual([3, 4096]);
    expect(statSync(blockFile(dir)).size).toBe(size);
    await l2.close();
  });

  it('ignores a snapshot that is ahead of the surviving blocks', async () => {
    const dir = tempLedgerDir();
    const { l } = await ledgerWithBlocks(dir, 3);
    await l.close(); // snapshot at height 4
    const recs = records(blockFile(dir));
    truncateSync(blockFile(dir), recs[3].offset + 30);
    const l2 = await open(dir);
    expect(l2.startup.snapshotIgnored).toMatch(/ahead of the block file/);
    expect(l2.height()).toBe(3);
    expect(l2.getState(CC, 'k3')).toBeUndefined();
    expect(text(l2.getState(CC, 'shared')?.value)).toBe('from block 2');
    await l2.close();
    expect((await verifyLedger(dir)).snapshot).toBe('matches');
  });
});

describe('tamper detection', () => {
  function flip(file: string, pos: number): () => void {
    const buf = readFileSync(file);
    const original = buf[pos];
    buf[pos] ^= 0xff;
    writeFileSync(file, buf);
    return () => {
      buf[pos] = original;
      writeFileSync(file, buf);
    };
  }

  it('refuses to start, naming the block, when a middle or the last block has a flipped byte', async () => {
    const dir = tempLedgerDir();
    const { l } = await ledgerWithBlocks(dir, 5);
    await l.close();
    const file = blockFile(dir);
    const recs = records(file);
    const size = statSync(file).size;
    const cases: [string, number, number, RegExp][] = [
      ['envelope byte of block 2', recs[2].offset + 24 + 200, 2, /block 2 is corrupt: record checksum mismatch/],
      ['length prefix of block 2', recs[2].offset + 6, 2, /block 2 is corrupt: record header checksum mismatch/],
      ['length prefix of the last block', recs[5].offset + 7, 5, /block 5 is corrupt/],
      ['last byte of the last block (commit hash)', size - 1, 5, /block 5 is corrupt: record checksum mismatch/],
      ['first byte of the genesis block', 0, 0, /block 0 is corrupt/],
    ];
    for (const [what, pos, block, message] of cases) {
      const restore = flip(file, pos);
      await expect(open(dir), what).rejects.toThrow(message);
      expect(statSync(file).size, `${what}: nothing truncated`).toBe(size);
      const v = await verifyLedger(dir);
      expect([v.ok, v.firstBadBlock], what).toEqual([false, block]);
      expect(v.message).toMatch(message);
      restore();
    }
    const healed = await open(dir);
    expect(healed.height()).toBe(6);
    await healed.close();
  });

  it('detects a flip of any header byte and of sampled payload bytes in every record', async () => {
    const dir = tempLedgerDir();
    const { l } = await ledgerWithBlocks(dir, 3);
    await l.close();
    const file = blockFile(dir);
    const recs = records(file);
    for (const [num, rec] of recs.entries()) {
      const positions = [...Array(24).keys()].map((i) => rec.offset + i);
      for (let p = rec.offset + 24; p < rec.offset + rec.length; p += 97) positions.push(p);
      positions.push(rec.offset + rec.length - 1);
      for (const pos of positions) {
        const restore = flip(file, pos);
        const v = await verifyLedger(dir);
        restore();
        expect({ pos, ok: v.ok, bad: v.firstBadBlock }).toEqual({ pos, ok: false, bad: num });
      }
    }
    expect((await verifyLedger(dir)).ok).toBe(true);
  });
});

describe('snapshot consistency', () => {
  it('restores from a snapshot exactly the state, history and index a full replay rebuilds', async () => {
    const dir = tempLedgerDir();
    const { l, txIds } = await ledgerWithBlocks(dir, 6);
    const live = dump(l);
    await l.close();

    const fromSnapshot = await open(dir, { snapshotOnClose: false });
    expect(fromSnapshot.startup).toMatchObject({ snapshotHeight: 7, replayedBlocks: 0 });
    expect(dump(fromSnapshot)).toEqual(live);
    expect(fromSnapshot.getTransaction(txIds[2])).toMatchObject({ blockNum: 3, txNum: 0, validationCode: 0 });
    // more blocks after the snapshot, then a "crash" (no snapshot on close)
    await fromSnapshot.commitBlock([buildEnvelope({ writes: [{ key: 'k7', value: 'late' }, { key: 'k2', isDelete: true }] })]);
    const later = dump(fromSnapshot);
    await fromSnapshot.close();

    const tail = await open(dir, { snapshotOnClose: false });
    expect(tail.startup).toMatchObject({ snapshotHeight: 7, replayedBlocks: 1 });
    expect(dump(tail)).toEqual(later);
    await tail.close();

    writeFileSync(snapshotFile(dir), Buffer.alloc(0));
    const replayed = await open(dir, { snapshotOnClose: false });
    expect(replayed.startup.snapshotHeight).toBeNull();
    expect(dump(replayed)).toEqual(later);
    await replayed.close();
  });

  it('takes periodic snapshots while blocks keep committing, each matching its height', async () => {
    const dir = tempLedgerDir();
    const l = await open(dir, { snapshotEveryTxs: 4, snapshotOnClose: false });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      // not awaited one by one: commits queue up while background snapshots are written
      pending.push(l.commitBlock([buildEnvelope({ writes: [{ key: `k${i % 7}`, value: `v${i}` }, { key: `n${i}`, value: 'x' }] })]));
    }
    await Promise.all(pending);
    const live = dump(l);
    await l.close(); // a "crash": whatever snapshot was written last is used
    const r = await open(dir, { snapshotOnClose: false });
    expect(r.startup.snapshotHeight).toBeGreaterThan(4);
    expect(r.startup.snapshotHeight! + r.startup.replayedBlocks).toBe(31);
    expect(dump(r)).toEqual(live);
    await r.close();
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, snapshot: 'matches' });
  });

  it('ignores a damaged snapshot and rebuilds from the blocks', async () => {
    const dir = tempLedgerDir();
    const { l } = await ledgerWithBlocks(dir, 3);
    const live = dump(l);
    await l.close();
    const snap = readFileSync(snapshotFile(dir));
    snap[snap.length >> 1] ^= 1;
    writeFileSync(snapshotFile(dir), snap);

    const v = await verifyLedger(dir);
    expect([v.ok, v.snapshot]).toEqual([false, 'corrupt']);
    const l2 = await open(dir, { snapshotOnClose: false });
    expect(l2.startup.snapshotIgnored).toMatch(/checksum mismatch/);
    expect(dump(l2)).toEqual(live);
    await l2.close();
    expect(existsSync(snapshotFile(dir))).toBe(false);
    expect((await verifyLedger(dir)).ok).toBe(true);
  });
});
