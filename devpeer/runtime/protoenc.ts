// Protobuf encoding of the few messages the endorser writes on every transaction (proposal response
// payload, chaincode action, prepared transaction), straight into buffers. Field numbers follow the
// .proto files in @hyperledger/fabric-protos; proto3 rules apply (default values are not written).
// Fields are sized first and written once: a nested message is not copied into each enclosing level.

/** An encoded field (or a run of fields) that knows its size and writes itself at a position. */
export interface Node {
  readonly size: number;
  writeTo(buf: Buffer, pos: number): number;
}

export type Part = Node | undefined;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Embedded fields, in order. */
class Fields implements Node {
  readonly size: number;

  constructor(private readonly parts: Node[]) {
    let size = 0;
    for (const p of parts) size += p.size;
    this.size = size;
  }

  writeTo(buf: Buffer, pos: number): number {
    for (const p of this.parts) pos = p.writeTo(buf, pos);
    return pos;
  }
}

/** tag, length, then bytes, a UTF-8 string or nested fields. */
class LengthDelimited implements Node {
  readonly size: number;
  private readonly length: number;

  constructor(
    private readonly tag: number,
    private readonly body: Uint8Array | string | Node,
  ) {
    this.length = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body instanceof Uint8Array ? body.length : body.size;
    this.size = varintSize(tag) + varintSize(this.length) + this.length;
  }

  writeTo(buf: Buffer, pos: number): number {
    pos = writeVarint(buf, pos, this.tag);
    pos = writeVarint(buf, pos, this.length);
    const body = this.body;
    if (typeof body === 'string') return pos + buf.write(body, pos, 'utf8');
    if (body instanceof Uint8Array) {
      buf.set(body, pos);
      return pos + body.length;
    }
    return body.writeTo(buf, pos);
  }
}

class VarintField implements Node {
  readonly size: number;

  constructor(
    private readonly tag: number,
    private readonly value: number,
  ) {
    this.size = varintSize(tag) + varintSize(value);
  }

  writeTo(buf: Buffer, pos: number): number {
    return writeVarint(buf, writeVarint(buf, pos, this.tag), this.value);
  }
}

function present(parts: Part[]): Node[] {
  return parts.filter((p): p is Node => p !== undefined);
}

/** A length-delimited field (bytes, string or embedded message); empty values are omitted. */
export function bytesField(field: number, value: Uint8Array | string | Node | undefined): Part {
  if (value === undefined) return undefined;
  if (typeof value === 'string' || value instanceof Uint8Array ? value.length === 0 : value.size === 0) return undefined;
  return new LengthDelimited(field * 8 + 2, value);
}

/** An embedded message field that is set: written even when the message is empty (as google-protobuf does). */
export function messageField(field: number, value: Uint8Array | Node): Node {
  return new LengthDelimited(field * 8 + 2, value);
}

/** A non-negative varint field (int32 >= 0, uint64, enum, bool); zero is omitted. */
export function varintField(field: number, value: number): Part {
  if (value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`field ${field}: ${value} is not a non-negative integer`);
  return new VarintField(field * 8, value);
}

/** Bytes written as they are (a field encoded ahead of time). */
class Raw implements Node {
  readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }

  writeTo(buf: Buffer, pos: number): number {
    buf.set(this.bytes, pos);
    return pos + this.bytes.length;
  }
}

/**
 * An int32 or enum field; zero is omitted. A negative value takes ten bytes (its 64-bit two's
 * complement), as every protobuf encoder writes it.
 */
export function enumField(field: number, value: number): Part {
  if (value >= 0) return varintField(field, value);
  if (!Number.isInteger(value) || value < -0x80000000) throw new RangeError(`field ${field}: ${value} is not an int32`);
  const tag = field * 8;
  const out = Buffer.alloc(varintSize(tag) + 10);
  let pos = writeVarint(out, 0, tag);
  let v = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++, v >>= 7n) out[pos++] = Number(v & 0x7fn) | 0x80;
  out[pos] = Number(v);
  return new Raw(out);
}

/** The fields of a message, to embed in another without encoding it separately first. */
export function fields(...parts: Part[]): Node {
  return new Fields(present(parts));
}

/** Encodes a node (a message's fields) into one buffer of exactly its size. */
export function encode(node: Node): Buffer {
  const buf = Buffer.allocUnsafe(node.size);
  const end = node.writeTo(buf, 0);
  if (end !== buf.length) throw new Error(`protobuf encoder wrote ${end} of ${buf.length} bytes`);
  return buf;
}

/** A message made of the given fields, in field order. */
export function message(...parts: Part[]): Buffer {
  return encode(fields(...parts));
}
