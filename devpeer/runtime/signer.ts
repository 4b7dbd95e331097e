// A peer's signing identity: ECDSA P-256 over SHA-256, DER-encoded with low S as Fabric requires.
import crypto from 'node:crypto';
import { encodeEcdsaSignature } from '../msp/der.js';
import { serializeIdentity } from '../msp/serialize.js';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_ORDER = P256_ORDER >> 1n;

export class Signer {
  /** msp.SerializedIdentity bytes */
  readonly identity: Uint8Array;
  private readonly key: crypto.KeyObject;

  constructor(
    readonly mspId: string,
    certPem: string,
    keyPem: string,
  ) {
    this.identity = serializeIdentity(mspId, certPem);
    this.key = crypto.createPrivateKey(keyPem);
  }

  sign(message: Uint8Array): Buffer {
    const raw = crypto.sign('sha256', message, { key: this.key, dsaEncoding: 'ieee-p1363' });
    const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
    let s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    if (s > P256_HALF_ORDER) s = P256_ORDER - s;
    return encodeEcdsaSignature(r, s);
  }
}
