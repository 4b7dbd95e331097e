import crypto from 'node:crypto';
import type { Signer } from '@hyperledger/fabric-gateway';
import { encodeEcdsaSignature, isLowSP256Signature, p1363ToLowSDer, parseEcdsaSignature } from '../../devpeer/msp/der.js';

// Fabric accepts only low-S ECDSA signatures. Node's OpenSSL signer does not normalize S, so we do it
// here; it is ~20x faster than the pure-JS signer fabric-gateway ships, which matters because the
// client signs every proposal and envelope (and commit-status requests). The DER helpers are the
// ones the embedded peer verifies with.
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

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
    new Promise((resolve, reject) => crypto.sign('sha256', message, key, (err, raw) => (err ? reject(err) : resolve(p1363ToLowSDer(raw)))));
}

/** The low-S twin of a DER signature (itself when already low-S). */
export function toLowS(der: Uint8Array): Uint8Array {
  if (isLowSP256Signature(der)) return der;
  const { r, s } = parseEcdsaSignature(der);
  return encodeEcdsaSignature(r, P256_N - s);
}

export function isLowS(der: Uint8Array): boolean {
  return isLowSP256Signature(der);
}
