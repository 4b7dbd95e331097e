import { closeSync, existsSync, fstatSync, fsyncSync, openSync, promises as fsp, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { blockDataHash, blockHeaderHash } from './blockhash.js';
import { scanBlock, txFilterOf, type ScannedBlock } from './block.js';
import { RecordScanner, frameRecord, readFully, HEADER_SIZE } from './framing.js';
import { WireError } from './protowire.js';

export const BLOCK_FILE = 'blocks.dat';

/** A stored block refuses to load: its number and why. */
export class LedgerCorruptError extends Error {
  constructor(
    readonly blockNum: number,
    readonly reason: string,
    where?: string,
  ) {
    super(`block ${blockNum} is corrupt: ${reason}${where ? ` (${where})` : ''}`);
  }
}

/** Where a block's record and its envelopes are in the block file. */
export interface BlockLocation {
  /** offset of the record (header) in the file */
  offset: number;
  /** length of the serialized block */
  length: number;
  /** [start, end) of each envelope, relative to the serialized block */
  txOffsets: Uint32Array;
}

export interface VerifiedBlock {
  num: number;
  block: ScannedBlock;
  /** the serialized block: a view valid only during the callback */
  payload: Buffer;
  headerHash: Buffer;
  location: BlockLocation;
}

export interface ChainWalk {
  /** blocks verified */
  height: number;
  /** file offset after the last good record */
  end: number;
  lastHeaderHash: Buffer;
  lastPreviousHash: Buffer;
  torn?: { offset: number; bytes: number; reason: string };
}

/**
 * Reads every record of a block file in order and checks record checksums, block numbering, data hashes
 * and the previous-hash chain. Throws LedgerCorruptError naming the first bad block.
 */
export function walkChain(fd: number, path: string, onBlock: (b: VerifiedBlock) => void): ChainWalk {
  const size = fstatSync(fd).size;
  const scanner = new RecordScanner(fd, size);
  let prevHash: Buffer = Buffer.alloc(0);
  let lastPrev: Buffer = Buffer.alloc(0);
  for (let num = 0; ; num++) {
    const ev = scanner.next();
    const where = `${path} offset ${ev.offset}`;
    if (ev.kind === 'end') return { height: num, end: ev.offset, lastHeaderHash: prevHash, lastPreviousHash: lastPrev };
    if (ev.kind === 'torn') {
      return {
        height: num,
        end: ev.offset,
        lastHeaderHash: prevHash,
        lastPreviousHash: lastPrev,
        torn: { offset: ev.offset, bytes: size - ev.offset, reason: ev.reason },
      };
    }
    if (ev.kind === 'corrupt') throw new LedgerCorruptError(num, ev.reason, where);
    if (ev.blockNum !== num) throw new LedgerCorruptError(num, `record holds block ${ev.blockNum}`, where);
    let block: ScannedBlock;
    try {
      block = scanBlock(ev.payload);
    } catch (e) {
      if (e instanceof WireError) throw new LedgerCorruptError(num, `malformed block: ${e.message}`, where);
      throw e;
    }
    if (block.number !== num) throw new LedgerCorruptError(num, `header says block ${block.number}`, where);
    if (!blockDataHash(block.data).equals(block.dataHash)) throw new LedgerCorruptError(num, 'data hash mismatch', where);
    if (!block.previousHash.equals(prevHash)) throw new LedgerCorruptError(num, 'previous hash mismatch', where);
    if (txFilterOf(block).length !== block.data.length) {
      throw new LedgerCorruptError(num, 'transactions filter does not match the transaction count', where);
    }
    const headerHash = blockHeaderHash(block);
    onBlock({
      num,
      block,
      payload: ev.payload,
      headerHash,
      location: { offset: ev.offset, length: ev.payload.length, txOffsets: Uint32Array.from(block.dataOffsets) },
    });
    lastPrev = Buffer.from(block.previousHash);
    prevHash = headerHash;
  }
}

/** The append-only block file of one channel, with an in-memory index of block and envelope offsets. */
export class BlockStore {
  private readonly blocks: BlockLocation[] = [];
  private size = 0;
  private broken?: Error;

  private constructor(
    readonly path: string,
    private readonly readFd: number,
    private readonly writer: fsp.FileHandle,
  ) {}

  /**
   * Opens (creating if needed) the block file, verifies every block (calling onBlock for each) and
   * truncates a torn tail. Throws LedgerCorruptError when a complete record fails its checks.
   */
  static async open(
    dir: string,
    onBlock: (b: VerifiedBlock) => void,
    log: (msg: string) => void,
  ): Promise<{ store: BlockStore; walk: ChainWalk }> {
    const path = join(dir, BLOCK_FILE);
    if (!existsSync(path)) {
      const fd = openSync(path, 'wx');
      fsyncSync(fd);
      closeSync(fd);
      fsyncDir(dir);
    }
    const readFd = openSync(path, 'r');
    let walk: ChainWalk;
    const locations: BlockLocation[] = [];
    try {
      walk = walkChain(readFd, path, (b) => {
        locations.push(b.location);
        onBlock(b);
      });
    } catch (e) {
      closeSync(readFd);
      throw e;
    }
    if (walk.torn) {
      log(`block file ${path}: dropping a torn tail of ${walk.torn.bytes} bytes after block ${walk.height - 1} (${walk.torn.reason})`);
      truncateSync(path, walk.end);
      const fd = openSync(path, 'r+');
      fsyncSync(fd);
      closeSync(fd);
    }
    const writer = await fsp.open(path, 'a');
    const store = new BlockStore(path, readFd, writer);
    store.blocks.push(...locations);
    store.size = walk.end;
    return { store, walk };
  }

  get height(): number {
    return this.blocks.length;
  }

  /** Appends the next block and waits until it is on disk (fdatasync). */
  async append(blockNum: number, serialized: Uint8Array, dataOffsets: number[]): Promise<void> {
    if (this.broken) throw this.broken;
    if (blockNum !== this.blocks.length) throw new Error(`append of block ${blockNum} at height ${this.blocks.length}`);
    const record = frameRecord(blockNum, serialized);
    const offset = this.size;
    try {
      // Into the page cache from here (tens of µs); only the fdatasync waits on the disk, in the thread pool.
      for (let written = 0; written < record.length; ) {
        written += writeSync(this.writer.fd, record, written, record.length - written);
      }
      await this.writer.datasync();
    } catch (e) {
      // Leave no partial record behind; if even that fails, refuse further appends.
      try {
        await this.writer.truncate(offset);
      } catch {
        this.broken = new Error(`block file ${this.path} is in an unknown state after a failed write: ${String(e)}`);
      }
      throw e;
    }
    this.size = offset + record.length;
    this.blocks.push({ offset, length: serialized.length, txOffsets: Uint32Array.from(dataOffsets) });
  }

  location(blockNum: number): BlockLocation | undefined {
    return this.blocks[blockNum];
  }

  /** The serialized block (a fresh copy read from the file). */
  readBlock(blockNum: number): Buffer | undefined {
    const loc = this.blocks[blockNum];
    if (!loc) return undefined;
    return this.read(loc.offset + HEADER_SIZE, loc.length);
  }

  /** One envelope of a stored block. */
  readEnvelope(blockNum: number, txNum: number): Buffer | undefined {
    const loc = this.blocks[blockNum];
    if (!loc || 2 * txNum + 1 >= loc.txOffsets.length) return undefined;
    const start = loc.txOffsets[2 * txNum];
    const end = loc.txOffsets[2 * txNum + 1];
    return this.read(loc.offset + HEADER_SIZE + start, end - start);
  }

  async close(): Promise<void> {
    await this.writer.close();
    closeSync(this.readFd);
  }

  private read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    if (readFully(this.readFd, buf, length, position) !== length) {
      throw new Error(`short read of ${length} bytes at offset ${position} in ${this.path}`);
    }
    return buf;
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
