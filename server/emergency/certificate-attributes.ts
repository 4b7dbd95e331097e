import { X509Certificate } from '@peculiar/x509';
import { FABRIC_ATTRS_OID } from '../../devpeer/msp/ca.js';

/** The Fabric CA enrollment attributes of a certificate (extension 1.2.3.4.5.6.7.8.1, `{"attrs":{...}}`); empty when absent or unreadable. */
export function certificateAttributes(certPem: string): Record<string, string> {
  try {
    const ext = new X509Certificate(certPem).getExtension(FABRIC_ATTRS_OID);
    if (!ext) return {};
    const attrs = (JSON.parse(Buffer.from(ext.value).toString('utf8')) as { attrs?: Record<string, unknown> }).attrs ?? {};
    return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, String(v)]));
  } catch {
    return {};
  }
}
