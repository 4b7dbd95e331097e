// Framing of block records in the append-only block file:
//
//   magic "FBLK" | payload length u32 | block number u64 | payload CRC-32 u32 | header CRC-32 u32 | payload
//   (big-endian; the header CRC covers the 20 bytes before it; the payload is a serialized common.Block)
//
// The header has its own checksum so that a damaged length can never make a complete record look like
// an incomplete one. A torn tail (the crash interrupted the last append) is: fewer bytes than a header,
// a valid header whose record runs past the end of the file, or only zero bytes. Anything else that
// fails a checksum is corruption. A single flipped byte always falls in the second class.
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const HEADER_SIZE = 24;
const MAGIC = 0x46424c4b; // "FBLK"
const READ_CHUNK = 8 << 20;

export function frameRecord(blockNum: number, payload: Uint8Array): Buffer {
  const rec = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  rec.writeUInt32BE(MAGIC, 0);
  rec.writeUInt32BE(payload.length, 4);
  rec.writeUInt32BE(Math.floor(blockNum / 0x100000000), 8);
  rec.writeUInt32BE(blockNum >>> 0, 12);
  rec.writeUInt32BE(crc32(payload), 16);
  rec.writeUInt32BE(crc32(rec.subarray(0, 20)), 20);
  rec.set(payload, HEADER_SIZE);
  return rec;
}

export type ScanEvent =
  | { kind: 'record'; offset: number; blockNum: number; payload: Buffer }
  | { kind: 'end'; offset: number }
  | { kind: 'torn'; offset: number; reason: string }
  | { kind: 'corrupt'; offset: number; blockNum?: number; reason: string };

/**
 * Reads records sequentially from an open file, through a large buffer. A record's payload is a view
 * that stays valid only until the next call to next().
 */
export class RecordScanner {
  private buf = Buffer.allocUnsafe(READ_CHUNK);
  private bufStart = 0;
  private bufLen = 0;
  offset = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
  ) {}

  next(): ScanEvent {
    const offset = this.offset;
    const remaining = this.fileSize - offset;
    if (remaining === 0) return { kind: 'end', offset };
    if (remaining < HEADER_SIZE) return { kind: 'torn', offset, reason: `incomplete record header (${remaining} bytes)` };
    const h = this.view(offset, HEADER_SIZE);
    const headerOk = h.readUInt32BE(0) === MAGIC && crc32(h.subarray(0, 20)) === h.readUInt32BE(20);
    if (!headerOk) {
      if (this.zeroFrom(offset)) return { kind: 'torn', offset, reason: 'zero-filled tail' };
      return { kind: 'corrupt', offset, reason: 'record header checksum mismatch' };
    }
    const length = h.readUInt32BE(4);
    const blockNum = h.readUInt32BE(8) * 0x100000000 + h.readUInt32BE(12);
    const payloadCrc = h.readUInt32BE(16);
    if (HEADER_SIZE + length > remaining) {
      return { kind: 'torn', offset, reason: `incomplete record (${remaining} of ${HEADER_SIZE + length} bytes)` };
    }
    const payload = this.view(offset + HEADER_SIZE, length);
    if (crc32(payload) !== payloadCrc) return { kind: 'corrupt', offset, blockNum, reason: 'record checksum mismatch' };
    this.offset = offset + HEADER_SIZE + length;
    return { kind: 'record', offset, blockNum, payload };
  }

  private view(pos: number, n: number): Buffer {
    if (pos < this.bufStart || pos + n > this.bufStart + this.bufLen) {
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
      const want = Math.min(this.buf.length, this.fileSize - pos);
      this.bufLen = readFully(this.fd, this.buf, want, pos);
      this.bufStart = pos;
      if (this.bufLen < n) throw new Error(`short read at offset ${pos}`);
    }
    const s = pos - this.bufStart;
    return this.buf.subarray(s, s + n);
  }

  private zeroFrom(pos: number): boolean {
    for (let p = pos; p < this.fileSize; ) {
      const n = Math.min(READ_CHUNK, this.fileSize - p);
      const v = this.view(p, n);
      for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
      p += n;
    }
    return true;
  }
}

export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
