import crypto from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { ClientIdentity } from 'fabric-shim';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueIdentity, FABRIC_ATTRS_OID, type CaMaterial } from '../../devpeer/msp/ca.js';

let ca: CaMaterial;

beforeAll(async () => {
  ca = await createCertificateAuthority('HospitalAMSP');
});

/** The two things fabric-shim's ClientIdentity reads from a ChaincodeStub. */
function stubFor(mspId: string, certPem: string) {
  return {
    getChannelID: () => 'consentry',
    getTxID: () => 'a'.repeat(64),
    getCreator: () => ({ mspid: mspId, idBytes: new Uint8Array(Buffer.from(certPem)) }),
  };
}

describe('certificate authority', () => {
  it('is a self-signed P-256 CA that may sign certificates and CRLs', () => {
    const cert = new x509.X509Certificate(ca.certPem);
    const node = new crypto.X509Certificate(ca.certPem);
    expect(node.ca).toBe(true);
    expect(node.checkIssued(node)).toBe(true);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.subjectName.getField('O')).toEqual(['HospitalA']);
    expect(cert.subjectName.getField('CN')).toEqual(['ca.hospitala']);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(true);
    expect(bc?.critical).toBe(true);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(ku.usages & x509.KeyUsageFlags.cRLSign).toBeTruthy();
    expect(crypto.createPrivateKey(ca.keyPem).asymmetricKeyType).toBe('ec');
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('issues an identity with digitalSignature, the NodeOU and the Fabric CA attribute extension', async () => {
    const id = await issueIdentity(ca, { commonName: 'alice', ou: 'client', attrs: { role: 'patient', pseudonym: 'p-1' } });
    const cert = new x509.X509Certificate(id.certPem);
    const node = new crypto.X509Certificate(id.certPem);
    expect(node.ca).toBe(false);
    expect(node.checkIssued(new crypto.X509Certificate(ca.certPem))).toBe(true);
    expect(node.checkPrivateKey(crypto.createPrivateKey(id.keyPem))).toBe(true);
    expect(cert.subjectName.getField('OU')).toEqual(['client']);
    expect(cert.subjectName.getField('CN')).toEqual(['alice']);
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    const ext = cert.getExtension(FABRIC_ATTRS_OID)!;
    expect(ext.critical).toBe(false);
    // Raw JSON bytes as the extension value, exactly as Fabric CA writes them.
    expect(Buffer.from(ext.value).toString('utf8')).toBe('{"attrs":{"role":"patient","pseudonym":"p-1"}}');
  });

  it('omits the attribute extension when no attributes are given and honours explicit validity', async () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-02-01T00:00:00Z');
    const id = await issueIdentity(ca, { commonName: 'peer0', ou: 'peer', notBefore, notAfter });
    const cert = new x509.X509Certificate(id.certPem);
    expect(cert.getExtension(FABRIC_ATTRS_OID)).toBeNull();
    expect(cert.notBefore.toISOString()).toBe(notBefore.toISOString());
    expect(cert.notAfter.toISOString()).toBe(notAfter.toISOString());
    expect(cert.subjectName.getField('OU')).toEqual(['peer']);
  });

  it('is read by fabric-shim ClientIdentity (the chaincode side) as Fabric CA identities are', async () => {
    const id = await issueIdentity(ca, {
      commonName: 'dr.house',
      attrs: { role: 'practitioner', fhirUser: 'Practitioner/123', npi: '1234567893', emergency: 'true' },
    });
    const ci = new ClientIdentity(stubFor('HospitalAMSP', id.certPem) as never);
    expect(ci.getMSPID()).toBe('HospitalAMSP');
    expect(ci.getAttributeValue('role')).toBe('practitioner');
    expect(ci.getAttributeValue('fhirUser')).toBe('Practitioner/123');
    expect(ci.getAttributeValue('emergency')).toBe('true');
    expect(ci.assertAttributeValue('npi', '1234567893')).toBe(true);
    expect(ci.getAttributeValue('pseudonym')).toBeNull();
    expect(ci.getID()).toBe('x509::/O=HospitalA/OU=client/CN=dr.house::/O=HospitalA/CN=ca.hospitala');
  });
});
