import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRevocationList, issueIdentity, type CaMaterial } from '../../devpeer/msp/ca.js';

/**
 * The hospital's certificate authority (ECDSA P-256): issues users' ledger identities (X.509 with the Fabric CA
 * attribute extension: role, fhirUser, pseudonym or npi, emergency) and signs its revocation list.
 */
export interface HospitalCa {
  mspId: string;
  issue(commonName: string, attrs: Record<string, string>): Promise<{ certPem: string; keyPem: string }>;
  /** a CRL signed by the CA listing these serials (hex) */
  signRevocationList(revoked: { serialNumber: string; revokedAt: Date }[]): Promise<string>;
  /**
   * Makes the peer refuse what the CRL lists. The embedded peer takes it at once; for a real Fabric network the
   * file written under the node's data folder goes into the channel MSP's `revocation_list` (a config update).
   */
  publishRevocationList(crlPem: string): Promise<void>;
}

const CRL_VALID_DAYS = 30;

/** The CA material and where its CRL goes: the embedded peer (when this process runs one) and `<dir>/crl.pem`. */
export function hospitalCa(opts: {
  mspId: string;
  ca?: CaMaterial;
  crlDir: string;
  /** the embedded peer's admin path for CRLs */
  peer?: { setRevocationList(mspId: string, crlPem: string): Promise<void> };
}): HospitalCa {
  const { mspId, ca } = opts;
  const required = (): CaMaterial => {
    if (!ca) throw new Error('this node has no CA to enroll users with: set HOSPITAL_CA_CERT and HOSPITAL_CA_KEY');
    return ca;
  };
  return {
    mspId,
    async issue(commonName, attrs) {
      const id = await issueIdentity(required(), { commonName, ou: 'client', attrs });
      return { certPem: id.certPem, keyPem: id.keyPem };
    },
    signRevocationList(revoked) {
      return createRevocationList(required(), revoked.map((r) => ({ serialNumber: r.serialNumber, revocationDate: r.revokedAt })), { validDays: CRL_VALID_DAYS });
    },
    async publishRevocationList(crlPem) {
      await opts.peer?.setRevocationList(mspId, crlPem);
      await fs.mkdir(opts.crlDir, { recursive: true });
      const file = path.join(opts.crlDir, 'crl.pem');
      const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(tmp, crlPem, { mode: 0o644 });
      await fs.rename(tmp, file);
    },
  };
}

/** Lower-case hex without leading zeros, as the peer's MSP compares serials. */
export function serialOf(certPem: string): string {
  return new crypto.X509Certificate(certPem).serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
}
