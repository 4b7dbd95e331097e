// Organization certificate authorities and the identities they issue, shaped like Fabric CA's output:
// ECDSA P-256, SHA-256 signatures, NodeOU in the subject, attributes in the Fabric CA extension.
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill loaded first
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';

type WebKey = crypto.webcrypto.CryptoKey;
type WebKeyPair = crypto.webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(crypto.webcrypto);

export interface CaMaterial { mspId: string; certPem: string; keyPem: string }
export interface IdentityMaterial { mspId: string; certPem: string; keyPem: string }
export type NodeOu = 'client' | 'peer' | 'admin' | 'orderer';

export interface IssueIdentityOptions {
  commonName: string;
  ou?: NodeOu;
  attrs?: Record<string, string>;
  notBefore?: Date;
  notAfter?: Date;
  validDays?: number;
}

/** OID under which Fabric CA stores enrollment attributes as raw UTF-8 JSON `{"attrs":{...}}`. */
export const FABRIC_ATTRS_OID = '1.2.3.4.5.6.7.8.1';

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Fabric CA backdates certificates by 5 minutes to tolerate clock skew. */
const BACKDATE_MS = 5 * 60_000;

/** "HospitalAMSP" -> "HospitalA": the organization name used in subjects. */
export function organizationName(mspId: string): string {
  return mspId.replace(/MSP$/, '') || mspId;
}

function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive and without a leading zero byte
  return bytes.toString('hex');
}

/** PEM with the conventional trailing newline (openssl, Fabric tools and fabric-ca-client all write one). */
function pem(der: ArrayBuffer, label: string): string {
  return `${x509.PemConverter.encode(der, label)}\n`;
}

async function exportKeyPem(key: WebKey): Promise<string> {
  const pkcs8 = await crypto.webcrypto.subtle.exportKey('pkcs8', key);
  return pem(pkcs8, 'PRIVATE KEY');
}

async function importSigningKey(keyPem: string): Promise<WebKey> {
  const der = crypto.createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return crypto.webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
}

function generateKeys(): Promise<WebKeyPair> {
  return crypto.webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
}

export async function createCertificateAuthority(
  mspId: string,
  opts: { commonName?: string; validDays?: number } = {},
): Promise<CaMaterial> {
  const org = organizationName(mspId);
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ O: [org] }, { CN: [opts.commonName ?? `ca.${org.toLowerCase()}`] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (opts.validDays ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { mspId, certPem: pem(cert.rawData, 'CERTIFICATE'), keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueIdentity(ca: CaMaterial, opts: IssueIdentityOptions): Promise<IdentityMaterial> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await generateKeys();
  const now = Date.now();
  const notBefore = opts.notBefore ?? new Date(now - BACKDATE_MS);
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + (opts.validDays ?? 365) * DAY_MS);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (opts.attrs && Object.keys(opts.attrs).length > 0) {
    // Fabric CA writes the JSON bytes directly as the extension value, not wrapped in an ASN.1 string.
    const json = JSON.stringify({ attrs: opts.attrs });
    extensions.push(new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(json, 'utf8')));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ O: [organizationName(ca.mspId)] }, { OU: [opts.ou ?? 'client'] }, { CN: [opts.commonName] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALG,
    extensions,
  });
  return { mspId: ca.mspId, certPem: pem(cert.rawData, 'CERTIFICATE'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** A CRL signed by the CA listing revoked serial numbers (hex), for `MspRegistry.setRevocationList`. */
export async function createRevocationList(
  ca: CaMaterial,
  revoked: { serialNumber: string; revocationDate?: Date }[],
  opts: { validDays?: number } = {},
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subjectName,
    thisUpdate: new Date(now - BACKDATE_MS),
    nextUpdate: new Date(now + (opts.validDays ?? 7) * DAY_MS),
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: SIGNING_ALG,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert)],
    entries: revoked.map((r) => ({ serialNumber: r.serialNumber, revocationDate: r.revocationDate ?? new Date(now) })),
  });
  return pem(crl.rawData, 'X509 CRL');
}
