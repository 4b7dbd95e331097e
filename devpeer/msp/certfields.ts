// The few parts of an X.509 certificate the MSP reads beyond what node:crypto exposes (the issuer and
// subject Names as DER, and extension values by OID), found by walking the DER instead of building a full
// ASN.1 object model of the certificate.
import { readTlv, type Tlv } from './der.js';

export interface CertificateParts {
  /** DER of the issuer Name */
  issuer: Uint8Array;
  /** DER of the subject Name */
  subject: Uint8Array;
  /** the value (extnValue contents) of the first extension with this dotted OID */
  extension(oid: string): Uint8Array | undefined;
}

function expect(tlv: Tlv, tag: number, what: string): Tlv {
  if (tlv.tag !== tag) throw new Error(`expected ${what}`);
  return tlv;
}

/** DER content bytes of an OBJECT IDENTIFIER in dotted form. */
function oidBytes(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) groups.unshift((n % 128) | 0x80);
    out.push(...groups);
  }
  return Buffer.from(out);
}

/** Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm, signatureValue } */
export function certificateParts(der: Uint8Array): CertificateParts {
  const cert = expect(readTlv(der, 0), 0x30, 'a certificate SEQUENCE');
  const tbs = expect(readTlv(der, cert.contentStart), 0x30, 'a TBSCertificate SEQUENCE');
  let at = tbs.contentStart;
  let next = readTlv(der, at);
  if (next.tag === 0xa0) next = readTlv(der, (at = next.end)); // [0] version
  expect(next, 0x02, 'the serial number');
  const algorithm = expect(readTlv(der, next.end), 0x30, 'the signature algorithm');
  const issuer = expect(readTlv(der, algorithm.end), 0x30, 'the issuer Name');
  const validity = expect(readTlv(der, issuer.end), 0x30, 'the validity');
  const subject = expect(readTlv(der, validity.end), 0x30, 'the subject Name');
  const spki = expect(readTlv(der, subject.end), 0x30, 'the subject public key info');

  const extensions = new Map<string, Uint8Array>();
  for (at = spki.end; at < tbs.end; ) {
    const field = readTlv(der, at);
    at = field.end;
    if (field.tag !== 0xa3) continue; // [1], [2] unique identifiers
    const list = expect(readTlv(der, field.contentStart), 0x30, 'the extensions SEQUENCE');
    for (let e = list.contentStart; e < list.end; ) {
      const ext = expect(readTlv(der, e), 0x30, 'an Extension SEQUENCE');
      e = ext.end;
      const id = expect(readTlv(der, ext.contentStart), 0x06, 'an extension OID');
      let value = readTlv(der, id.end);
      if (value.tag === 0x01) value = readTlv(der, value.end); // critical
      expect(value, 0x04, 'an extension value OCTET STRING');
      const key = Buffer.from(der.subarray(id.contentStart, id.end)).toString('hex');
      if (!extensions.has(key)) extensions.set(key, der.subarray(value.contentStart, value.end));
    }
  }
  return {
    issuer: der.subarray(issuer.start, issuer.end),
    subject: der.subarray(subject.start, subject.end),
    extension: (oid) => extensions.get(oidBytes(oid).toString('hex')),
  };
}
