// The MSP's DER walk finds the same subject, issuer and extension values as a full @peculiar/x509 parse.
import 'reflect-metadata';
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, FABRIC_ATTRS_OID } from '../../devpeer/msp/ca.js';
import { certificateParts } from '../../devpeer/msp/certfields.js';

// (importing ca.js made node's webcrypto the @peculiar/x509 crypto provider)
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function certificate(opts: { subject: string; extensions?: x509.Extension[]; issuer?: string }): Promise<x509.X509Certificate> {
  const keys = await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  return x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: opts.subject,
    issuer: opts.issuer ?? 'CN=Issuer, O=Somewhere',
    notBefore: new Date(Date.now() - 1000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: alg,
    extensions: opts.extensions ?? [],
  });
}

function compare(cert: x509.X509Certificate): void {
  const parts = certificateParts(new Uint8Array(cert.rawData));
  expect(new x509.Name(parts.subject).toString()).toBe(cert.subject);
  expect(new x509.Name(parts.issuer).toString()).toBe(cert.issuer);
  expect(new x509.Name(parts.subject).getField('OU')).toEqual(cert.subjectName.getField('OU'));
  const ext = cert.getExtension(FABRIC_ATTRS_OID);
  const found = parts.extension(FABRIC_ATTRS_OID);
  expect(found && Buffer.from(found).toString('hex')).toBe(ext ? Buffer.from(ext.value).toString('hex') : undefined);
}

describe('certificateParts', () => {
  it('agrees with a full parse on subjects, issuers and the Fabric attribute extension', async () => {
    const attrs = new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(JSON.stringify({ attrs: { role: 'patient' } })));
    const big = new x509.Extension(FABRIC_ATTRS_OID, true, Buffer.from(JSON.stringify({ attrs: { note: 'x'.repeat(300) } })));
    const certs = [
      await certificate({ subject: 'O=HospitalA, OU=client, CN=alice', extensions: [new x509.BasicConstraintsExtension(false), attrs] }),
      await certificate({ subject: 'CN=no extensions' }),
      await certificate({ subject: 'O=A, OU=client, OU=admin, CN=two units', extensions: [big, attrs] }),
      await certificate({ subject: 'CN=comma\\, and \\+ plus, OU=peer', extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)] }),
    ];
    for (const cert of certs) compare(cert);
    const ca = await createCertificateAuthority('HospitalAMSP');
    compare(new x509.X509Certificate(ca.certPem));
  });

  it('rejects bytes that are not a certificate', () => {
    expect(() => certificateParts(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow();
    expect(() => certificateParts(new Uint8Array([0x04, 0x00]))).toThrow();
  });
});
