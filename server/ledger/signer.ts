import crypto from 'node:crypto';
import type { Signer } from '@hyperledger/fabric-gateway';

// Fabric accepts only low-S ECDSA signatures. Node's OpenSSL signer does not normalize S,
// so we do it here; it is ~20x faster than the pure-JS signer fabric-gateway ships, which
// matters because the client signs every proposal and envelope (and commit-status requests).
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
const P256_HALF_N = Buffer.from('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8', 'hex');

/**
 * A fabric-gateway Signer over the raw message (use with `hash: hash.none`):
 * SHA-256 + ECDSA P-256 via node:crypto, DER-encoded, low-S. The message must not change until it resolves.
 */
export function newMessageSigner(privateKey: crypto.KeyObject): Signer {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('ledger signing keys must be ECDSA P-256');
  }
  const key = { key: privateKey, dsaEncoding: 'ieee-p1363' } as const;
  // On libuv's thread pool: the event loop keeps serving other requests while the signature is computed.
  return (message: Uint8Array) =>
    new Promise((resolve, reject) => crypto.sign('sha256', message, key, (err, raw) => (err ? reject(err) : resolve(derLowS(raw)))));
}

/** r ‖ s (32 bytes each, as OpenSSL's IEEE P1363 output) to a DER signature with S ≤ n/2. */
function derLowS(raw: Buffer): Buffer {
  const r = raw.subarray(0, 32);
  let s = raw.subarray(32, 64);
  if (Buffer.compare(s, P256_HALF_N) > 0) s = subtractFromN(s);
  return derSignature(r, s);
}

/** n − s for a 32-byte big-endian s < n. */
function subtractFromN(s: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    let d = P256_N[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 256;
    out[i] = d;
  }
  return out;
}

/** DER INTEGER content for an unsigned big-endian value: minimal, with a 0 byte when the top bit is set. */
function integerBytes(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  return trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

function derSignature(r: Uint8Array, s: Uint8Array): Buffer {
  const rb = integerBytes(r);
  const sb = integerBytes(s);
  const out = Buffer.allocUnsafe(6 + rb.length + sb.length);
  out[0] = 0x30;
  out[1] = 4 + rb.length + sb.length; // at most 70: short form
  out[2] = 0x02;
  out[3] = rb.length;
  out.set(rb, 4);
  out[4 + rb.length] = 0x02;
  out[5 + rb.length] = sb.length;
  out.set(sb, 6 + rb.length);
  return out;
}

export function toLowS(der: Uint8Array): Uint8Array {
  const { r, s } = decodeDerSignature(der);
  return Buffer.compare(s, P256_HALF_N) > 0 ? derSignature(r, subtractFromN(s)) : der;
}

export function isLowS(der: Uint8Array): boolean {
  return Buffer.compare(decodeDerSignature(der).s, P256_HALF_N) <= 0;
}

/** r and s of a DER ECDSA P-256 signature as 32-byte big-endian values. */
function decodeDerSignature(der: Uint8Array): { r: Buffer; s: Buffer } {
  if (der[0] !== 0x30) throw new Error('not a DER ECDSA signature');
  let offset = 2;
  if (der[1] & 0x80) offset += der[1] & 0x7f;
  const readInt = (): Buffer => {
    if (der[offset] !== 0x02) throw new Error('not a DER ECDSA signature');
    const len = der[offset + 1];
    let bytes = der.subarray(offset + 2, offset + 2 + len);
    offset += 2 + len;
    while (bytes.length > 32 && bytes[0] === 0) bytes = bytes.subarray(1);
    if (bytes.length > 32) throw new Error('not a P-256 ECDSA signature');
    const out = Buffer.alloc(32);
    out.set(bytes, 32 - bytes.length);
    return out;
  };
  const r = readInt();
  const s = readInt();
  return { r, s };
}
