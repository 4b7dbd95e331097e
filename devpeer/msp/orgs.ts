// First-start bootstrap of the organizations a devpeer serves: one CA, one admin and one peer
// identity per MSP, kept as PEM files so any Fabric client can be pointed at them.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createCertificateAuthority, issueIdentity, organizationName, type CaMaterial, type IdentityMaterial } from './ca.js';

export interface OrgMaterial {
  mspId: string;
  ca: CaMaterial;
  admin: IdentityMaterial;
  peer: IdentityMaterial;
  /** the organization's current certificate revocation list (PEM), when its CA has revoked anything */
  crlPem?: string;
  /** where the CRL is kept (absent until the first revocation) */
  crlFile: string;
  paths: { caCert: string; caKey: string; adminCert: string; adminKey: string; peerCert: string; peerKey: string };
}

const MSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Identities are reissued by the existing CA when they would expire within this window. */
const RENEW_BEFORE_MS = 24 * 3_600_000;

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Write-then-rename so a crash never leaves a half-written key or certificate behind. */
async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

function usable(certPem: string, keyPem: string, ca: CaMaterial): boolean {
  try {
    const cert = new crypto.X509Certificate(certPem);
    const key = crypto.createPrivateKey(keyPem);
    return (
      cert.checkPrivateKey(key) &&
      cert.verify(new crypto.X509Certificate(ca.certPem).publicKey) &&
      Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

async function loadOrIssue(
  ca: CaMaterial,
  certFile: string,
  keyFile: string,
  issue: () => Promise<IdentityMaterial>,
): Promise<IdentityMaterial> {
  const certPem = await readIfExists(certFile);
  const keyPem = await readIfExists(keyFile);
  if (certPem && keyPem && usable(certPem, keyPem, ca)) return { mspId: ca.mspId, certPem, keyPem };
  const material = await issue();
  await writeAtomic(keyFile, material.keyPem, 0o600);
  await writeAtomic(certFile, material.certPem, 0o644);
  return material;
}

async function ensureOrganization(mspRoot: string, mspId: string): Promise<OrgMaterial> {
  if (!MSP_ID.test(mspId)) throw new Error(`invalid MSP id "${mspId}"`);
  const dir = path.join(mspRoot, mspId);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caCert: path.join(dir, 'ca-cert.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    adminCert: path.join(dir, 'admin-cert.pem'),
    adminKey: path.join(dir, 'admin-key.pem'),
    peerCert: path.join(dir, 'peer-cert.pem'),
    peerKey: path.join(dir, 'peer-key.pem'),
  };
  const crlFile = path.join(dir, 'crl.pem');

  let ca: CaMaterial;
  const caCertPem = await readIfExists(paths.caCert);
  const caKeyPem = await readIfExists(paths.caKey);
  if (caCertPem && caKeyPem) {
    ca = { mspId, certPem: caCertPem, keyPem: caKeyPem };
  } else if (caCertPem || caKeyPem) {
    // Never silently replace half of a CA: identities issued by it would stop validating.
    throw new Error(`${dir} holds only one of ca-cert.pem and ca-key.pem; restore the other or remove both`);
  } else {
    ca = await createCertificateAuthority(mspId);
    await writeAtomic(paths.caKey, ca.keyPem, 0o600);
    await writeAtomic(paths.caCert, ca.certPem, 0o644);
  }

  const org = organizationName(mspId).toLowerCase();
  const admin = await loadOrIssue(ca, paths.adminCert, paths.adminKey, () =>
    issueIdentity(ca, { commonName: `Admin@${org}`, ou: 'admin', attrs: { role: 'admin' } }),
  );
  const peer = await loadOrIssue(ca, paths.peerCert, paths.peerKey, () =>
    issueIdentity(ca, { commonName: `peer0.${org}`, ou: 'peer' }),
  );
  return { mspId, ca, admin, peer, crlPem: await readIfExists(crlFile), crlFile, paths };
}

/** Keeps an organization's CRL (already verified against its CA) for the next start. */
export async function saveRevocationList(org: OrgMaterial, crlPem: string): Promise<void> {
  await writeAtomic(org.crlFile, crlPem, 0o644);
  org.crlPem = crlPem;
}

/**
 * Creates `<mspRoot>/<mspId>/{ca,admin,peer}-{cert,key}.pem` for each MSP on first start (keys 0600)
 * and loads them afterwards. Admin and peer identities that are missing, unreadable, not issued by
 * the stored CA or about to expire are reissued by that CA; the CA itself is never replaced.
 */
export async function ensureOrganizations(mspRoot: string, mspIds: string[]): Promise<OrgMaterial[]> {
  const out: OrgMaterial[] = [];
  for (const mspId of mspIds) out.push(await ensureOrganization(mspRoot, mspId));
  return out;
}
