import { EventEmitter } from 'node:events';
import type { Network } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import type { Database } from '../db/database.js';
import { parseBlock, type ParsedBlock } from './blocks.js';
import { LedgerUnavailableError } from './errors.js';
import { applyBlockEvents } from './projection-apply.js';

const VALID = 0;

export interface ProjectionOptions {
  channel: string;
  chaincode: string;
  /** fail closed when the replica is more than this many blocks behind the ledger */
  maxLagBlocks: number;
  /** ...or when the ledger has not been heard from for this long */
  maxLagMs: number;
  /** how often to ask the peer for its height */
  pollMs?: number;
}

/**
 * The hospital's replica of ledger state: follows every block from a durable checkpoint (kept in the
 * same database transaction as the rows it produces) and answers "at which height are we, and is that
 * close enough to the ledger to decide on?".
 */
export class LedgerProjection {
  private nextBlock = 0;
  private chainHeight = 0;
  private lastHeardAt = 0;
  private stopped = false;
  private events?: { close(): void };
  private pollTimer?: NodeJS.Timeout;
  private loop?: Promise<void>;
  private readonly progress = new EventEmitter();
  private lastError?: Error;

  constructor(
    private readonly db: Database,
    private readonly network: Network,
    private readonly opts: ProjectionOptions,
  ) {
    this.progress.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const { rows } = await this.db.query<{ next_block: number }>('SELECT next_block FROM ledger_checkpoint WHERE channel = $1', [this.opts.channel]);
    this.nextBlock = rows[0]?.next_block ?? 0;
    await this.pollChainHeight();
    this.pollTimer = setInterval(() => void this.pollChainHeight(), this.opts.pollMs ?? 500);
    this.pollTimer.unref();
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.events?.close();
    await this.loop?.catch(() => undefined);
  }

  /** Every block below this height is reflected in the database. */
  height(): number {
    return this.nextBlock;
  }

  /** The ledger's height as last reported by the peer. */
  ledgerHeight(): number {
    return Math.max(this.chainHeight, this.nextBlock);
  }

  /** Throws LedgerUnavailableError unless the replica is current enough to decide on. */
  assertFresh(): number {
    const silentFor = Date.now() - this.lastHeardAt;
    if (silentFor > this.opts.maxLagMs) {
      throw new LedgerUnavailableError(`ledger not reachable for ${silentFor} ms${this.lastError ? ` (${this.lastError.message})` : ''}`);
    }
    const lag = this.ledgerHeight() - this.nextBlock;
    if (lag > this.opts.maxLagBlocks) {
      throw new LedgerUnavailableError(`ledger replica is ${lag} blocks behind (limit ${this.opts.maxLagBlocks})`);
    }
    return this.nextBlock;
  }

  /** Resolves once the block holding a write we made is reflected (read-your-writes for our callers). */
  waitForBlock(blockNumber: number, timeoutMs = 10_000): Promise<void> {
    if (this.nextBlock > blockNumber) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.progress.off('height', onHeight);
        reject(new LedgerUnavailableError(`ledger replica did not reach block ${blockNumber} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onHeight = (height: number) => {
        if (height > blockNumber) {
          clearTimeout(timer);
          this.progress.off('height', onHeight);
          resolve();
        }
      };
      this.progress.on('height', onHeight);
    });
  }

  private async follow(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const events = await this.network.getBlockEvents({ startBlock: BigInt(this.nextBlock) });
        this.events = events;
        for await (const block of events) {
          await this.applyBlock(block);
          backoff = 100;
        }
      } catch (err) {
        if (this.stopped) return;
        this.lastError = err instanceof Error ? err : new Error(String(err));
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  private async applyBlock(block: common.Block): Promise<void> {
    const parsed: ParsedBlock = parseBlock(block);
    if (parsed.number < this.nextBlock) return; // replayed after a reconnect, or applied by a sibling process
    const applied = await this.db.transaction(async (tx) => {
      // Several server processes of one hospital share the database: the checkpoint row, locked, decides
      // which of them applies a block, so each block is applied exactly once.
      await tx.query('INSERT INTO ledger_checkpoint (channel, next_block) VALUES ($1, 0) ON CONFLICT (channel) DO NOTHING', [this.opts.channel]);
      const { rows } = await tx.query<{ next_block: number }>('SELECT next_block FROM ledger_checkpoint WHERE channel = $1 FOR UPDATE', [this.opts.channel]);
      const next = Number(rows[0].next_block);
      if (next > parsed.number) return next;
      if (next < parsed.number) throw new Error(`projection checkpoint is at block ${next} but block ${parsed.number} arrived`);
      const committed = parsed.transactions.filter((t) => t.validationCode === VALID && t.event?.chaincodeId === this.opts.chaincode);
      await applyBlockEvents(tx, parsed.number, committed);
      await tx.query(
        `INSERT INTO ledger_checkpoint (channel, next_block, last_tx_id, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (channel) DO UPDATE SET next_block = EXCLUDED.next_block, last_tx_id = EXCLUDED.last_tx_id, updated_at = now()`,
        [this.opts.channel, parsed.number + 1, parsed.transactions.at(-1)?.txId ?? null],
      );
      return parsed.number + 1;
    });
    this.nextBlock = Math.max(this.nextBlock, applied);
    this.lastHeardAt = Date.now();
    this.chainHeight = Math.max(this.chainHeight, this.nextBlock);
    this.progress.emit('height', this.nextBlock);
  }

  private async pollChainHeight(): Promise<void> {
    try {
      const bytes = await this.network.getContract('qscc').evaluateTransaction('GetChainInfo', this.opts.channel);
      this.chainHeight = common.BlockchainInfo.deserializeBinary(bytes).getHeight();
      this.lastHeardAt = Date.now();
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
    }
  }
}
