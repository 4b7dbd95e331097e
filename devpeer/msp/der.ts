// Just enough strict DER to read ECDSA signatures and split a CRL into its signed part and signature.

export interface Tlv { tag: number; start: number; contentStart: number; end: number }

/** Reads one DER TLV at `offset`; throws on indefinite or non-minimal lengths and on overruns. */
export function readTlv(buf: Uint8Array, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[offset];
  let len = buf[offset + 1];
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > buf.length) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i];
    if (len < 0x80 || buf[pos] === 0) throw new Error('non-minimal DER length');
    pos += n;
  }
  if (pos + len > buf.length) throw new Error('truncated DER');
  return { tag, start: offset, contentStart: pos, end: pos + len };
}

function readInteger(buf: Uint8Array, offset: number): { value: bigint; end: number } {
  const t = readTlv(buf, offset);
  const len = t.end - t.contentStart;
  if (t.tag !== 0x02 || len === 0) throw new Error('expected INTEGER');
  const first = buf[t.contentStart];
  if (first & 0x80) throw new Error('negative INTEGER');
  if (len > 1 && first === 0 && !(buf[t.contentStart + 1] & 0x80)) throw new Error('non-minimal INTEGER');
  let value = 0n;
  for (let i = t.contentStart; i < t.end; i++) value = (value << 8n) | BigInt(buf[i]);
  return { value, end: t.end };
}

/** Parses `SEQUENCE { r INTEGER, s INTEGER }` with nothing trailing. */
export function parseEcdsaSignature(der: Uint8Array): { r: bigint; s: bigint } {
  const seq = readTlv(der, 0);
  if (seq.tag !== 0x30 || seq.end !== der.length) throw new Error('expected a single SEQUENCE');
  const r = readInteger(der, seq.contentStart);
  const s = readInteger(der, r.end);
  if (s.end !== seq.end) throw new Error('trailing data in signature');
  return { r: r.value, s: s.value };
}

const P256_ORDER_BYTES = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
const P256_HALF_ORDER_BYTES = Buffer.from('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8', 'hex');

/** The magnitude of a strict DER INTEGER (positive, minimal) without its sign byte, or undefined. */
function positiveInteger(buf: Uint8Array, t: Tlv): Uint8Array | undefined {
  const len = t.end - t.contentStart;
  if (t.tag !== 0x02 || len === 0) return undefined;
  const first = buf[t.contentStart];
  if (first & 0x80) return undefined;
  if (len > 1 && first === 0 && !(buf[t.contentStart + 1] & 0x80)) return undefined;
  let start = t.contentStart;
  while (start < t.end && buf[start] === 0) start++;
  return start === t.end ? undefined : buf.subarray(start, t.end); // zero is not a valid r or s
}

/** Compares unsigned big-endian values that have no leading zero bytes. */
function compareMagnitude(a: Uint8Array, b: Uint8Array): number {
  return a.length !== b.length ? a.length - b.length : Buffer.compare(a, b);
}

/**
 * True when `der` is exactly `SEQUENCE { r INTEGER, s INTEGER }` with 0 < r < n and 0 < s ≤ n/2 for
 * P-256: the form Fabric accepts (low S). The same rules as parseEcdsaSignature, without bigints.
 */
export function isLowSP256Signature(der: Uint8Array): boolean {
  try {
    const seq = readTlv(der, 0);
    if (seq.tag !== 0x30 || seq.end !== der.length) return false;
    const rt = readTlv(der, seq.contentStart);
    const st = readTlv(der, rt.end);
    if (st.end !== seq.end) return false;
    const r = positiveInteger(der, rt);
    const s = positiveInteger(der, st);
    if (!r || !s) return false;
    return compareMagnitude(r, P256_ORDER_BYTES) < 0 && compareMagnitude(s, P256_HALF_ORDER_BYTES) <= 0;
  } catch {
    return false;
  }
}

/** n − s for a 32-byte big-endian s < n. */
function subtractFromOrder(s: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    let d = P256_ORDER_BYTES[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 256;
    out[i] = d;
  }
  return out;
}

/** Minimal DER INTEGER content of an unsigned big-endian value. */
function integerContent(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  return trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** An IEEE P1363 P-256 signature (r ‖ s, 32 bytes each) as DER with S ≤ n/2, the form Fabric requires. */
export function p1363ToLowSDer(raw: Uint8Array): Buffer {
  if (raw.length !== 64) throw new Error('expected a 64-byte P-256 signature');
  let s: Uint8Array = raw.subarray(32);
  if (Buffer.compare(s, P256_HALF_ORDER_BYTES) > 0) s = subtractFromOrder(s);
  const rb = integerContent(raw.subarray(0, 32));
  const sb = integerContent(s);
  // Not from the shared pool: a signature kept around must not pin an 8 KiB pool slab.
  const out = Buffer.allocUnsafeSlow(6 + rb.length + sb.length);
  out[0] = 0x30;
  out[1] = 4 + rb.length + sb.length;
  out[2] = 0x02;
  out[3] = rb.length;
  out.set(rb, 4);
  out[4 + rb.length] = 0x02;
  out[5 + rb.length] = sb.length;
  out.set(sb, 6 + rb.length);
  return out;
}

function integerBytes(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

function encodeTlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  const header = len < 0x80 ? Buffer.from([tag, len]) : Buffer.from([tag, 0x81, len]);
  return Buffer.concat([header, content]);
}

export function encodeEcdsaSignature(r: bigint, s: bigint): Buffer {
  return encodeTlv(0x30, Buffer.concat([encodeTlv(0x02, integerBytes(r)), encodeTlv(0x02, integerBytes(s))]));
}

/** Splits `SEQUENCE { tbs, algorithm, BIT STRING signature }` (certificates and CRLs). */
export function splitSigned(der: Uint8Array): { tbs: Uint8Array; signature: Uint8Array } {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw new Error('expected SEQUENCE');
  const tbs = readTlv(der, outer.contentStart);
  const alg = readTlv(der, tbs.end);
  const sig = readTlv(der, alg.end);
  if (sig.tag !== 0x03 || der[sig.contentStart] !== 0) throw new Error('expected BIT STRING signature');
  return { tbs: der.subarray(tbs.start, tbs.end), signature: der.subarray(sig.contentStart + 1, sig.end) };
}
