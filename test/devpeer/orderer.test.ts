// Block cutting: by transaction count, by bytes, by timeout; one commit at a time; reported after commit.
import { describe, expect, it } from 'vitest';
import type { CommittedBlock } from '../../devpeer/ledger/types.js';
import { Orderer, OrdererUnavailableError } from '../../devpeer/orderer/orderer.js';

function harness(opts: { maxTx?: number; timeoutMs?: number; maxBytes?: number; commitMs?: number; failAt?: number; incoming?: () => number } = {}) {
  const committed: number[][] = [];
  const reported: number[] = [];
  let active = 0;
  let maxActive = 0;
  const orderer = new Orderer({
    maxTx: opts.maxTx ?? 3,
    timeoutMs: opts.timeoutMs ?? 20,
    maxBytes: opts.maxBytes ?? 1_000_000,
    async commit(envelopes) {
      active++;
      maxActive = Math.max(maxActive, active);
      const number = committed.length;
      await new Promise((r) => setTimeout(r, opts.commitMs ?? 1));
      active--;
      if (opts.failAt === number) throw new Error('disk full');
      committed.push(envelopes.map((e) => e[0]));
      return { number, block: new Uint8Array(0), transactions: [] } satisfies CommittedBlock;
    },
    onBlock: (block) => reported.push(block.number),
    onFailure: () => undefined,
    incoming: opts.incoming,
  });
  return { orderer, committed, reported, maxActive: () => maxActive };
}

const tx = (n: number, size = 1): Uint8Array => new Uint8Array(size).fill(n);

describe('orderer', () => {
  it('cuts a block as soon as it holds maxTx transactions, and the rest after the timeout', async () => {
    const { orderer, committed } = harness({ maxTx: 3, timeoutMs: 40 });
    for (let i = 1; i <= 4; i++) orderer.enqueue(tx(i));
    await new Promise((r) => setTimeout(r, 15));
    expect(committed).toEqual([[1, 2, 3]]);
    await new Promise((r) => setTimeout(r, 60));
    expect(committed).toEqual([[1, 2, 3], [4]]);
  });

  it('cuts by size, commits one block at a time, and reports a block only after its commit', async () => {
    const { orderer, committed, reported, maxActive } = harness({ maxTx: 100, maxBytes: 10, commitMs: 10, timeoutMs: 1 });
    for (let i = 1; i <= 6; i++) orderer.enqueue(tx(i, 4));
    expect(reported).toEqual([]);
    await orderer.stop();
    expect(committed.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Math.max(...committed.map((b) => b.length))).toBeLessThanOrEqual(2);
    expect(reported).toEqual(committed.map((_, i) => i));
    expect(maxActive()).toBe(1);
  });

  it('cuts at once when no more transactions are on their way, and waits for those that are', async () => {
    let incoming = 0;
    const { orderer, committed } = harness({ maxTx: 100, timeoutMs: 5_000, incoming: () => incoming });
    orderer.enqueue(tx(1));
    await new Promise((r) => setTimeout(r, 10));
    expect(committed).toEqual([[1]]);

    // Others are being endorsed: the block waits while it holds no more than are still coming.
    incoming = 2;
    orderer.enqueue(tx(2));
    orderer.enqueue(tx(3));
    await new Promise((r) => setTimeout(r, 10));
    expect(committed).toEqual([[1]]);
    incoming = 0;
    orderer.enqueue(tx(4));
    await new Promise((r) => setTimeout(r, 10));
    expect(committed).toEqual([[1], [2, 3, 4]]);

    // One of those awaited fails to arrive: the block is cut when the orderer hears so, not at the timeout.
    incoming = 1;
    orderer.enqueue(tx(5));
    await new Promise((r) => setTimeout(r, 10));
    expect(committed).toEqual([[1], [2, 3, 4]]);
    incoming = 0;
    orderer.reconsider();
    await new Promise((r) => setTimeout(r, 10));
    expect(committed).toEqual([[1], [2, 3, 4], [5]]);
    await orderer.stop();
  });

  it('refuses new transactions after stop and after a failed commit', async () => {
    const stopped = harness();
    await stopped.orderer.stop();
    expect(() => stopped.orderer.enqueue(tx(1))).toThrow(OrdererUnavailableError);

    const failing = harness({ maxTx: 1, failAt: 0 });
    failing.orderer.enqueue(tx(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(() => failing.orderer.enqueue(tx(2))).toThrow(/the ledger failed: disk full/);
  });
});
