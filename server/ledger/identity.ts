import crypto from 'node:crypto';

/** A ledger identity the server acts as: an X.509 certificate from the user's hospital CA and its key. */
export interface LedgerUser {
  mspId: string;
  certPem: string;
  /** PKCS#8 PEM, a KeyObject, or how to open it from the hospital's key vault (asked once per cached gateway) */
  privateKey: string | crypto.KeyObject | (() => Promise<crypto.KeyObject>);
}

export function userKey(user: LedgerUser): string {
  return crypto.createHash('sha256').update(user.mspId).update('\0').update(user.certPem).digest('hex');
}
