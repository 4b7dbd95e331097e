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
