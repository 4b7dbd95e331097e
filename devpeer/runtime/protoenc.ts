// Protobuf encoding of the few messages the endorser writes on every transaction (proposal response
// payload, chaincode action, prepared transaction), straight into buffers. Field numbers follow the
// .proto files in @hyperledger/fabric-protos; proto3 rules apply (default values are not written).

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

export type Part = Buffer | undefined;

/** A length-delimited field (bytes, string or embedded message); empty values are omitted. */
export function bytesField(field: number, value: Uint8Array | string | undefined): Part {
  if (value === undefined || value.length === 0) return undefined;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
}

/** An embedded message field that is set: written even when the message is empty (as google-protobuf does). */
export function messageField(field: number, value: Uint8Array): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(value.length), value]);
}

/** A non-negative varint field (int32 >= 0, uint64, enum, bool); zero is omitted. */
export function varintField(field: number, value: number): Part {
  if (value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`field ${field}: ${value} is not a non-negative integer`);
  return Buffer.concat([varint(field * 8), varint(value)]);
}

/** A message made of the given fields, in field order. */
export function message(...parts: Part[]): Buffer {
  return Buffer.concat(parts.filter((p): p is Buffer => p !== undefined));
}
