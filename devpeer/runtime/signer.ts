// A peer's signing identity: ECDSA P-256 over SHA-256, DER-encoded with low S as Fabric requires.
import crypto from 'node:crypto';
import { p1363ToLowSDer } from '../msp/der.js';
import { serializeIdentity } from '../msp/serialize.js';

export class Signer {
  /** msp.SerializedIdentity bytes */
  readonly identity: Uint8Array;
  private readonly key: { key: crypto.KeyObject; dsaEncoding: 'ieee-p1363' };

  constructor(
    readonly mspId: string,
    certPem: string,
    keyPem: string,
  ) {
    this.identity = serializeIdentity(mspId, certPem);
    this.key = { key: crypto.createPrivateKey(keyPem), dsaEncoding: 'ieee-p1363' };
  }

  sign(message: Uint8Array): Buffer {
    return p1363ToLowSDer(crypto.sign('sha256', message, this.key));
  }

  /** `sign` on libuv's thread pool; `message` must not change until it resolves. */
  signAsync(message: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      crypto.sign('sha256', message, this.key, (err, raw) => (err ? reject(err) : resolve(p1363ToLowSDer(raw))));
    });
  }
}
