import crypto from 'node:crypto';
import type { Signer } from '@hyperledger/fabric-gateway';

// Fabric accepts only low-S ECDSA signatures. Node's OpenSSL signer does not normalize S,
// so we do it here; it is ~20x faster than the pure-JS signer fabric-gateway ships, which
// matters because the client signs proposal, envelope and commit-status request per transaction.
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P256_HALF_N = P256_N >> 1n;

/**
 * A fabric-gateway Signer over the raw message (use with `hash: hash.none`):
 * SHA-256 + ECDSA P-256 via node:crypto, DER-encoded, low-S.
 */
export function newMessageSigner(privateKey: crypto.KeyObject): Signer {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('ledger signing keys must be ECDSA P-256');
  }
  return (message: Uint8Array) => Promise.resolve(toLowS(crypto.sign('sha256', message, privateKey)));
}

export function toLowS(der: Uint8Array): Uint8Array {
  const { r, s } = decodeDerSignature(der);
  return s > P256_HALF_N ? encodeDerSignature(r, P256_N - s) : der;
}

export function isLowS(der: Uint8Array): boolean {
  return decodeDerSignature(der).s <= P256_HALF_N;
}

function decodeDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  if (der[0] !== 0x30) throw new Error('not a DER ECDSA signature');
  let offset = 2;
  if (der[1] & 0x80) offset += der[1] & 0x7f;
  const readInt = (): bigint => {
    if (der[offset] !== 0x02) throw new Error('not a DER ECDSA signature');
    const len = der[offset + 1];
    const bytes = der.subarray(offset + 2, offset + 2 + len);
    offset += 2 + len;
    return BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  };
  const r = readInt();
  const s = readInt();
  return { r, s };
}

function encodeDerSignature(r: bigint, s: bigint): Uint8Array {
  const int = (v: bigint): Buffer => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = '0' + hex;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
