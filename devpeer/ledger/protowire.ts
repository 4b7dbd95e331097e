// A minimal protobuf wire-format reader. The ledger parses every envelope at commit and replays
// thousands of blocks at start-up; walking the wire format directly avoids materialising the full
// google-protobuf object graph (certificates, signatures, endorsements) that the ledger never looks at.

export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

export class WireReader {
  pos: number;
  readonly end: number;
  readonly buf: Buffer;
  /** start and end of the last field read with len() */
  fs = 0;
  fe = 0;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = asBuffer(buf);
    this.pos = start;
    this.end = end;
  }

  static of(bytes: Uint8Array): WireReader {
    return new WireReader(bytes, 0, bytes.length);
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** Unsigned varint as a double: exact up to 2^53. */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new WireError('varint too long');
  }

  /** int32 / enum: negative values are sign-extended to 10 bytes on the wire; keep the low 32 bits. */
  int32(): number {
    const buf = this.buf;
    let lo = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++];
      if (i < 5) lo |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return lo | 0;
    }
    throw new WireError('varint too long');
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  tag(): number {
    const t = this.varint();
    if (t < 8) throw new WireError(`invalid field tag ${t}`);
    return t;
  }

  /** Start/end offsets of a length-delimited field, advancing past it. */
  lenRange(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new WireError('length-delimited field overruns its message');
    this.pos = end;
    return [start, end];
  }

  /** Steps over a length-delimited field, leaving its bounds in fs/fe (no allocation). */
  len(): void {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.end) throw new WireError('length-delimited field overruns its message');
    this.fs = start;
    this.fe = end;
    this.pos = end;
  }

  /** A reader over the field last stepped over with len(). */
  inner(): WireReader {
    return new WireReader(this.buf, this.fs, this.fe);
  }

  /** A view (no copy) of a length-delimited field. */
  bytes(): Buffer {
    const [s, e] = this.lenRange();
    return this.buf.subarray(s, e);
  }

  /** A reader over an embedded message, advancing past it. */
  message(): WireReader {
    const [s, e] = this.lenRange();
    return new WireReader(this.buf, s, e);
  }

  string(): string {
    const [s, e] = this.lenRange();
    return this.buf.toString('utf8', s, e);
  }

  skip(tag: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.lenRange();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${tag & 7}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError('truncated fixed-width field');
    this.pos += n;
  }
}

/** Throws unless the tag carries the expected wire type (a wrong type means a malformed message). */
export function expectWire(tag: number, wire: number): void {
  if ((tag & 7) !== wire) throw new WireError(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${wire}`);
}
