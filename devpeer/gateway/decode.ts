// Strict protobuf decoding. google-protobuf silently accepts much malformed input (and throws a bare
// "Assertion failed" on the rest), so the wire format is walked first and failures are reported the
// way Fabric's Go code words them: "error unmarshalling <Type>: proto: cannot parse invalid wire-format data".

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error(`truncated varint at byte ${pos}`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error(`overlong varint at byte ${pos}`);
}

/** Throws unless `buf` is a well-formed sequence of protobuf fields (one message level deep). */
export function checkWireFormat(buf: Uint8Array): void {
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field < 1 || field > 536_870_911) throw new Error(`invalid field number ${field} at byte ${start}`);
    switch (wireType) {
      case 0:
        pos = readVarint(buf, pos)[1];
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, afterLen] = readVarint(buf, pos);
        pos = afterLen + len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at byte ${start}`);
    }
    if (pos > buf.length) throw new Error(`field ${field} at byte ${start} runs past the end of the message`);
  }
}

interface Deserializable<T> {
  deserializeBinary(bytes: Uint8Array): T;
}

/** Decodes `bytes` as `type`; `name` is the protobuf message name used in the error. */
export function decode<T>(type: Deserializable<T>, bytes: Uint8Array, name: string): T {
  try {
    checkWireFormat(bytes);
    return type.deserializeBinary(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new DecodeError(`error unmarshalling ${name}: proto: cannot parse invalid wire-format data (${why})`);
  }
}
