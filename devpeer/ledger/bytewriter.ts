/** A growable byte buffer with LEB128 varints and length-prefixed fields (snapshot, commit hash). */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b;
    return this;
  }

  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.len++] = n;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** varint length + bytes */
  bytes(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes);
  }

  /** varint byte length + UTF-8 */
  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.buf.write(s, this.len, 'utf8');
    this.len += n;
    return this;
  }

  /** A view of what was written (valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads what ByteWriter wrote; throws RangeError on truncation. */
export class ByteReader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}

  more(): boolean {
    return this.pos < this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new RangeError('truncated');
    return this.buf[this.pos++];
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RangeError('varint too long');
  }

  raw(n: number): Buffer {
    if (this.pos + n > this.end) throw new RangeError('truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(): Buffer {
    return this.raw(this.varint());
  }

  string(): string {
    const n = this.varint();
    if (this.pos + n > this.end) throw new RangeError('truncated');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/**
 * An unpooled copy: small Buffers normally share 8 KB slabs, and a long-lived state value would keep
 * its whole slab alive after the other values in it were overwritten.
 */
export function copyBytes(v: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(v.length);
  b.set(v);
  return b;
}
