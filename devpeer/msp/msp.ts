// Peer-side MSP: which organizations exist, whether a creator certificate belongs to one, and
// whether a signature was made by it. Mirrors the checks a Fabric peer's X.509 MSP performs.
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill loaded first
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { msp } from '@hyperledger/fabric-protos';
import { FABRIC_ATTRS_OID } from './ca.js';
import { certificateParts, type CertificateParts } from './certfields.js';
import { isLowSP256Signature, splitSigned } from './der.js';

export type MspErrorReason =
  | 'unknown-msp'
  | 'untrusted'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'malformed'
  | 'unsupported';

export class MspError extends Error {
  constructor(message: string, readonly reason: MspErrorReason) {
    super(message);
    this.name = 'MspError';
  }
}

export interface ValidatedIdentity {
  mspId: string;
  certPem: string;
  publicKey: crypto.KeyObject;
  /** RFC 4514-style subject, e.g. "O=HospitalA, OU=client, CN=alice". */
  subject: string;
  /** Fabric CA enrollment attributes (extension 1.2.3.4.5.6.7.8.1); empty when absent. */
  attrs: Record<string, string>;
  /** The NodeOU classification: client, peer, admin or orderer. */
  ou: string;
  /** Lower-case hex without leading zeros. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface OrganizationConfig { mspId: string; caCertPem: string; crlPem?: string }

export interface MspRegistryOptions {
  /** Distinct identities kept validated; the oldest is dropped beyond this. Default 10,000. */
  cacheSize?: number;
  /** Clock in ms, for tests; default Date.now. */
  now?: () => number;
}

interface Organization {
  mspId: string;
  caCert: crypto.X509Certificate;
  caPublicKey: crypto.KeyObject;
  caNotBefore: number;
  caNotAfter: number;
  revoked: Set<string>;
}

const NODE_OUS = new Set(['client', 'peer', 'admin', 'orderer']);

function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseOrganization(org: OrganizationConfig): Organization {
  let caCert: crypto.X509Certificate;
  try {
    caCert = new crypto.X509Certificate(org.caCertPem);
  } catch (err) {
    throw new MspError(`CA certificate of ${org.mspId} is malformed: ${describe(err)}`, 'malformed');
  }
  if (!caCert.ca) throw new MspError(`certificate configured as CA of ${org.mspId} is not a CA certificate`, 'malformed');
  return {
    mspId: org.mspId,
    caCert,
    caPublicKey: caCert.publicKey,
    caNotBefore: Date.parse(caCert.validFrom),
    caNotAfter: Date.parse(caCert.validTo),
    revoked: new Set(),
  };
}

function parseRevokedSerials(org: Organization, crlPem: string): Set<string> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(crlPem);
  } catch (err) {
    throw new MspError(`revocation list for ${org.mspId} is malformed: ${describe(err)}`, 'malformed');
  }
  const { tbs, signature } = splitSigned(new Uint8Array(crl.rawData));
  if (!crypto.verify('sha256', tbs, org.caPublicKey, signature)) {
    throw new MspError(`revocation list for ${org.mspId} is not signed by its CA`, 'untrusted');
  }
  return new Set(crl.entries.map((e) => normalizeSerial(e.serialNumber)));
}

function parseAttrs(extensionValue: Uint8Array | undefined): Record<string, string> {
  if (!extensionValue) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(extensionValue).toString('utf8'));
  } catch (err) {
    throw new MspError(`certificate attribute extension is not JSON: ${describe(err)}`, 'malformed');
  }
  const attrs = (parsed as { attrs?: unknown } | null)?.attrs;
  if (attrs === undefined) return {};
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new MspError('certificate attribute extension has no "attrs" object', 'malformed');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) out[k] = String(v);
  return out;
}

export class MspRegistry {
  private readonly orgs = new Map<string, Organization>();
  /**
   * Keyed by "I" + the serialized identity bytes as a latin1 string (no digest per use), or by "C" + mspId +
   * PEM for validateCert: the prefixes keep creator bytes from ever naming a validateCert entry.
   */
  private readonly cache = new Map<string, ValidatedIdentity>();
  private readonly cacheSize: number;
  private readonly now: () => number;

  constructor(orgs: OrganizationConfig[], opts: MspRegistryOptions = {}) {
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.now = opts.now ?? (() => Date.now());
    for (const org of orgs) this.addOrganization(org);
  }

  /** Adds or replaces an organization; previously validated identities are re-checked on next use. */
  addOrganization(org: OrganizationConfig): void {
    const parsed = parseOrganization(org);
    if (org.crlPem) parsed.revoked = parseRevokedSerials(parsed, org.crlPem);
    this.orgs.set(org.mspId, parsed);
    this.cache.clear();
  }

  /** Replaces the organization's revoked serials with those in the CRL (which its CA must have signed). */
  setRevocationList(mspId: string, crlPem: string): void {
    const org = this.requireOrg(mspId);
    org.revoked = parseRevokedSerials(org, crlPem);
  }

  mspIds(): string[] {
    return [...this.orgs.keys()];
  }

  caCertPem(mspId: string): string {
    return this.requireOrg(mspId).caCert.toString();
  }

  /** Validates msp.SerializedIdentity bytes (the proposal/envelope creator). Throws MspError. */
  validate(serializedIdentity: Uint8Array): ValidatedIdentity {
    const key = `I${Buffer.from(serializedIdentity.buffer, serializedIdentity.byteOffset, serializedIdentity.byteLength).toString('latin1')}`;
    const cached = this.cache.get(key);
    if (cached) return this.checkCurrent(cached);
    let mspId: string;
    let certPem: string;
    try {
      const sid = msp.SerializedIdentity.deserializeBinary(serializedIdentity);
      mspId = sid.getMspid();
      certPem = Buffer.from(sid.getIdBytes_asU8()).toString('utf8');
    } catch (err) {
      throw new MspError(`malformed serialized identity: ${describe(err)}`, 'malformed');
    }
    const identity = this.checkCurrent(this.verifyChain(mspId, certPem));
    this.remember(key, identity);
    return identity;
  }

  /** Validates a PEM certificate claimed to belong to `mspId`. Throws MspError. */
  validateCert(mspId: string, certPem: string): ValidatedIdentity {
    const key = `C${mspId}\u0000${certPem}`;
    const cached = this.cache.get(key);
    if (cached) return this.checkCurrent(cached);
    const identity = this.checkCurrent(this.verifyChain(mspId, certPem));
    this.remember(key, identity);
    return identity;
  }

  /**
   * ECDSA P-256 over SHA-256(message), DER-encoded. Like Fabric, rejects high-S signatures
   * (s > n/2), which are otherwise mathematically valid malleated copies.
   */
  verify(identity: ValidatedIdentity, message: Uint8Array, derSignature: Uint8Array): boolean {
    return isLowSP256Signature(derSignature) && crypto.verify('sha256', message, identity.publicKey, derSignature);
  }

  /**
   * `verify` on libuv's thread pool: the ECDSA work (most of a request's CPU) leaves the event loop, so the
   * peer keeps serving while it runs. `message` and `derSignature` must not change until it resolves.
   */
  verifyAsync(identity: ValidatedIdentity, message: Uint8Array, derSignature: Uint8Array): Promise<boolean> {
    if (!isLowSP256Signature(derSignature)) return Promise.resolve(false);
    return new Promise((resolve) => {
      crypto.verify('sha256', message, identity.publicKey, derSignature, (err, ok) => resolve(!err && ok));
    });
  }

  private requireOrg(mspId: string): Organization {
    const org = this.orgs.get(mspId);
    if (!org) {
      const known = [...this.orgs.keys()].join(', ') || 'none';
      throw new MspError(`unknown MSP "${mspId}" (known: ${known})`, 'unknown-msp');
    }
    return org;
  }

  /** The once-per-certificate work: parse, chain to the org CA, key type, NodeOU, attributes. */
  private verifyChain(mspId: string, certPem: string): ValidatedIdentity {
    const org = this.requireOrg(mspId);
    let cert: crypto.X509Certificate;
    let parts: CertificateParts;
    let subjectName: x509.Name;
    try {
      cert = new crypto.X509Certificate(certPem);
      parts = certificateParts(cert.raw);
      subjectName = new x509.Name(parts.subject);
    } catch (err) {
      throw new MspError(`malformed certificate for ${mspId}: ${describe(err)}`, 'malformed');
    }
    const subject = subjectName.toString();
    if (!cert.checkIssued(org.caCert) || !cert.verify(org.caPublicKey)) {
      throw new MspError(
        `certificate "${subject}" is not signed by the CA of ${mspId} (issuer "${new x509.Name(parts.issuer).toString()}")`,
        'untrusted',
      );
    }
    if (cert.ca) throw new MspError(`certificate "${subject}" is a CA certificate and cannot be an identity`, 'malformed');
    const publicKey = cert.publicKey;
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new MspError(`certificate "${subject}" does not carry an ECDSA P-256 key`, 'unsupported');
    }
    const ous = subjectName.getField('OU').filter((ou) => NODE_OUS.has(ou));
    if (ous.length !== 1) {
      throw new MspError(
        `certificate "${subject}" must have exactly one NodeOU (client, peer, admin or orderer), found ${ous.length}`,
        'malformed',
      );
    }
    return {
      mspId,
      certPem,
      publicKey,
      subject,
      attrs: parseAttrs(parts.extension(FABRIC_ATTRS_OID)),
      ou: ous[0],
      serialNumber: normalizeSerial(cert.serialNumber),
      notBefore: new Date(Date.parse(cert.validFrom)),
      notAfter: new Date(Date.parse(cert.validTo)),
    };
  }

  /** The per-use work, never cached: validity period (identity and CA) and revocation. */
  private checkCurrent(identity: ValidatedIdentity): ValidatedIdentity {
    const org = this.requireOrg(identity.mspId);
    const now = this.now();
    if (now > identity.notAfter.getTime()) {
      throw new MspError(`certificate "${identity.subject}" of ${identity.mspId} expired at ${identity.notAfter.toISOString()}`, 'expired');
    }
    if (now < identity.notBefore.getTime()) {
      throw new MspError(`certificate "${identity.subject}" of ${identity.mspId} is not valid before ${identity.notBefore.toISOString()}`, 'not-yet-valid');
    }
    if (now > org.caNotAfter || now < org.caNotBefore) {
      throw new MspError(`the CA certificate of ${identity.mspId} is outside its validity period`, 'expired');
    }
    if (org.revoked.has(identity.serialNumber)) {
      throw new MspError(`certificate "${identity.subject}" of ${identity.mspId} has been revoked`, 'revoked');
    }
    return identity;
  }

  private remember(key: string, identity: ValidatedIdentity): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, identity);
  }
}
