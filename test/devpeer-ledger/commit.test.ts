import { afterEach, describe, expect, it } from 'vitest';
import { TxValidationCode as Code } from '../../devpeer/ledger/index.js';
import type { FileLedger } from '../../devpeer/ledger/index.js';
import { cleanupDirs, open, tempLedgerDir, text } from './helpers.js';
import { CHAINCODE as CC, buildEnvelope, txIdOf } from './txbuilder.js';

afterEach(cleanupDirs);

const codes = async (l: FileLedger, envs: Uint8Array[]) =>
  (await l.commitBlock(envs)).transactions.map((t) => t.validationCode);

describe('commit and read back', () => {
  it('applies valid writes with their version, reports events, and survives a restart', async () => {
    const dir = tempLedgerDir();
    let l = await open(dir);
    const env = buildEnvelope({
      writes: [{ key: 'patient/p1', value: '{"status":"active"}' }],
      event: { name: 'PatientRegistered', payload: 'p1' },
    });
    const block = await l.commitBlock([env]);
    expect(block.number).toBe(1);
    expect(block.transactions).toEqual([
      {
        txId: txIdOf(env),
        validationCode: Code.VALID,
        event: { chaincodeId: CC, txId: txIdOf(env), eventName: 'PatientRegistered', payload: Buffer.from('p1') },
      },
    ]);
    expect(text(l.getState(CC, 'patient/p1')?.value)).toBe('{"status":"active"}');
    expect(l.getState(CC, 'patient/p1')?.version).toEqual({ blockNum: 1, txNum: 0 });
    expect(l.getState(CC, 'nope')).toBeUndefined();
    expect(l.getState('othercc', 'patient/p1')).toBeUndefined();
    const stored = l.getTransaction(txIdOf(env))!;
    expect(stored).toMatchObject({ blockNum: 1, txNum: 0, validationCode: Code.VALID });
    expect(Buffer.from(stored.envelope)).toEqual(Buffer.from(env));
    const info = l.chainInfo();
    await l.close();

    l = await open(dir);
    expect(l.height()).toBe(2);
    expect(l.chainInfo()).toEqual(info);
    expect(text(l.getState(CC, 'patient/p1')?.value)).toBe('{"status":"active"}');
    expect(l.hasTransaction(txIdOf(env))).toBe(true);
    expect(Buffer.from(l.getBlock(1)!)).toEqual(Buffer.from(block.block));
    await l.close();
  });

  it('returns history newest first, with deletes, tx ids and the transactions\' timestamps', async () => {
    const l = await open(tempLedgerDir());
    const envs = [
      buildEnvelope({ writes: [{ key: 'k', value: 'v1' }], timestamp: { seconds: 100, nanos: 1 } }),
      buildEnvelope({ writes: [{ key: 'k', value: 'v2' }], timestamp: { seconds: 200, nanos: 2 } }),
      buildEnvelope({ writes: [{ key: 'k', isDelete: true }], timestamp: { seconds: 300, nanos: 3 } }),
      buildEnvelope({ writes: [{ key: 'k', value: 'v4' }], timestamp: { seconds: 400, nanos: 4 } }),
    ];
    await l.commitBlock([envs[0]]);
    await l.commitBlock([envs[1], envs[2]]); // blind writes in one block: both valid
    await l.commitBlock([buildEnvelope({ reads: [{ key: 'k' }], writes: [{ key: 'k', value: 'lost' }] })]); // k absent: valid
    await l.commitBlock([envs[3]]);
    const h = l.getHistory(CC, 'k');
    expect(h.map((e) => [e.blockNum, e.txNum, e.isDelete, text(e.value), e.timestamp.seconds])).toEqual([
      [4, 0, false, 'v4', 400],
      [3, 0, false, 'lost', expect.any(Number)],
      [2, 1, true, '', 300],
      [2, 0, false, 'v2', 200],
      [1, 0, false, 'v1', 100],
    ]);
    expect(h[4]).toMatchObject({ txId: txIdOf(envs[0]), timestamp: { seconds: 100, nanos: 1 } });
    expect(l.getHistory(CC, 'never-written')).toEqual([]);
    await l.close();
  });
});

describe('validation at commit', () => {
  it('flags a read of a version that changed in an earlier block as MVCC_READ_CONFLICT', async () => {
    const l = await open(tempLedgerDir());
    await l.commitBlock([buildEnvelope({ writes: [{ key: 'a', value: '1' }] })]);
    const v1 = l.getState(CC, 'a')!.version;
    // two clients simulated against version v1; the first commits, then the second arrives
    await l.commitBlock([buildEnvelope({ reads: [{ key: 'a', version: v1 }], writes: [{ key: 'a', value: '2' }] })]);
    const late = buildEnvelope({ reads: [{ key: 'a', version: v1 }], writes: [{ key: 'a', value: '3' }] });
    expect(await codes(l, [late])).toEqual([Code.MVCC_READ_CONFLICT]);
    expect(text(l.getState(CC, 'a')!.value)).toBe('2');
    // reading a key as absent after it was created conflicts too
    expect(await codes(l, [buildEnvelope({ reads: [{ key: 'a' }], writes: [{ key: 'z', value: '!' }] })])).toEqual([
      Code.MVCC_READ_CONFLICT,
    ]);
    expect(l.getState(CC, 'z')).toBeUndefined();
    await l.close();
  });

  it('flags a read of a key written by an earlier valid transaction of the same block', async () => {
    const l = await open(tempLedgerDir());
    await l.commitBlock([buildEnvelope({ writes: [{ key: 'a', value: '1' }] })]);
    const v = l.getState(CC, 'a')!.version;
    const first = buildEnvelope({ reads: [{ key: 'a', version: v }], writes: [{ key: 'a', value: 'first' }] });
    const second = buildEnvelope({ reads: [{ key: 'a', version: v }], writes: [{ key: 'a', value: 'second' }] });
    const other = buildEnvelope({ reads: [{ key: 'b' }], writes: [{ key: 'b', value: 'b' }] });
    const block = await l.commitBlock([first, second, other]);
    expect(block.transactions.map((t) => t.validationCode)).toEqual([Code.VALID, Code.MVCC_READ_CONFLICT, Code.VALID]);
    expect(block.transactions[1].event).toBeUndefined();
    expect(text(l.getState(CC, 'a')!.value)).toBe('first');
    expect(l.getState(CC, 'a')!.version).toEqual({ blockNum: 2, txNum: 0 });
    expect(l.getState(CC, 'b')!.version).toEqual({ blockNum: 2, txNum: 2 });
    // an invalid transaction's writes do not reach history either
    expect(l.getHistory(CC, 'a').map((h) => text(h.value))).toEqual(['first', '1']);
    await l.close();
  });

  it('flags a range query whose results changed as PHANTOM_READ_CONFLICT', async () => {
    const l = await open(tempLedgerDir());
    await l.commitBlock([buildEnvelope({ writes: [{ key: 'r1', value: '1' }, { key: 'r3', value: '3' }] })]);
    const v = { blockNum: 1, txNum: 0 };
    const exhausted = () =>
      buildEnvelope({
        ranges: [{ startKey: 'r', endKey: 's', itrExhausted: true, reads: [{ key: 'r1', version: v }, { key: 'r3', version: v }] }],
        writes: [{ key: 'summary', value: '2 keys' }],
      });
    // unchanged range: valid
    expect(await codes(l, [exhausted()])).toEqual([Code.VALID]);
    // a key inserted inside the range by an earlier transaction of the same block
    expect(await codes(l, [buildEnvelope({ writes: [{ key: 'r2', value: '2' }] }), exhausted()])).toEqual([
      Code.VALID,
      Code.PHANTOM_READ_CONFLICT,
    ]);
    // …and across blocks: the range now holds r1, r2, r3
    expect(await codes(l, [exhausted()])).toEqual([Code.PHANTOM_READ_CONFLICT]);
    // a key outside the range does not matter
    await l.commitBlock([buildEnvelope({ writes: [{ key: 's0', value: 'x' }] })]);
    const v2 = { blockNum: 3, txNum: 0 };
    const now = [
      { key: 'r1', version: v },
      { key: 'r2', version: v2 },
      { key: 'r3', version: v },
    ];
    expect(
      await codes(l, [buildEnvelope({ ranges: [{ startKey: 'r', endKey: 's', itrExhausted: true, reads: now }] })]),
    ).toEqual([Code.VALID]);
    // not exhausted: endKey is the last key read and changes after it are not phantoms
    await l.commitBlock([buildEnvelope({ writes: [{ key: 'r4', value: '4' }] })]);
    const partial = buildEnvelope({ ranges: [{ startKey: 'r', endKey: 'r2', itrExhausted: false, reads: now.slice(0, 2) }] });
    expect(await codes(l, [partial])).toEqual([Code.VALID]);
    // deleting a key that was read is a phantom
    await l.commitBlock([buildEnvelope({ writes: [{ key: 'r2', isDelete: true }] })]);
    const stale = buildEnvelope({ ranges: [{ startKey: 'r', endKey: 'r2', itrExhausted: false, reads: now.slice(0, 2) }] });
    expect(await codes(l, [stale])).toEqual([Code.PHANTOM_READ_CONFLICT]);
    await l.close();
  });

  it('rejects duplicate transaction ids, on the ledger and inside one block, keeping the first entry', async () => {
    const dir = tempLedgerDir();
    let l = await open(dir);
    const a = buildEnvelope({ txId: 'tx-a', writes: [{ key: 'a', value: 'first' }] });
    const aAgain = buildEnvelope({ txId: 'tx-a', writes: [{ key: 'a', value: 'replayed' }] });
    expect(await codes(l, [a, aAgain])).toEqual([Code.VALID, Code.DUPLICATE_TXID]);
    expect(await codes(l, [aAgain])).toEqual([Code.DUPLICATE_TXID]);
    expect(text(l.getState(CC, 'a')!.value)).toBe('first');
    expect(l.getTransaction('tx-a')).toMatchObject({ blockNum: 1, txNum: 0, validationCode: Code.VALID });

    // an invalid transaction's id is recorded too: resubmitting it is a duplicate
    const conflicted = buildEnvelope({ txId: 'tx-b', reads: [{ key: 'a' }], writes: [{ key: 'b', value: 'x' }] });
    expect(await codes(l, [conflicted])).toEqual([Code.MVCC_READ_CONFLICT]);
    await l.close();
    l = await open(dir);
    expect(l.getTransaction('tx-b')).toMatchObject({ blockNum: 3, txNum: 0, validationCode: Code.MVCC_READ_CONFLICT });
    expect(await codes(l, [buildEnvelope({ txId: 'tx-b', writes: [{ key: 'b', value: 'x' }] })])).toEqual([Code.DUPLICATE_TXID]);
    expect(l.getState(CC, 'b')).toBeUndefined();
    await l.close();
  });

  it('keeps malformed and foreign-channel transactions in the block without applying them', async () => {
    const l = await open(tempLedgerDir());
    const foreign = buildEnvelope({ channel: 'elsewhere', writes: [{ key: 'f', value: 'x' }] });
    const garbage = Buffer.from('not a protobuf envelope at all');
    const ok = buildEnvelope({ writes: [{ key: 'ok', value: 'y' }] });
    const block = await l.commitBlock([foreign, garbage, new Uint8Array(0), ok]);
    expect(block.transactions.map((t) => t.validationCode)).toEqual([
      Code.TARGET_CHAIN_NOT_FOUND,
      Code.BAD_PAYLOAD,
      Code.NIL_ENVELOPE,
      Code.VALID,
    ]);
    expect(block.transactions[0].txId).toBe(txIdOf(foreign));
    expect(block.transactions[1].txId).toBe('');
    expect(l.getState(CC, 'f')).toBeUndefined();
    expect(text(l.getState(CC, 'ok')!.value)).toBe('y');
    await expect(l.commitBlock([])).rejects.toThrow(/at least one transaction/);
    await l.close();
  });
});
