import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startDevPeer } from '../../devpeer/index.js';
import { createRevocationList, issueIdentity } from '../../devpeer/msp/ca.js';
import { tempDir } from '../support/ledger.js';

async function evaluateAs(endpoint: string, id: { certPem: string; keyPem: string }): Promise<string> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const gateway = connect({ client, identity: { mspId: 'HospitalAMSP', credentials: Buffer.from(id.certPem) }, signer: signers.newPrivateKeySigner(crypto.createPrivateKey(id.keyPem)), hash: hash.sha256 });
  try {
    await gateway.getNetwork('consentry').getContract('consentry').evaluateTransaction('GetPatient', 'f'.repeat(64));
    return 'ok';
  } catch (err) {
    return [(err as Error).message, ...((err as { details?: { message: string }[] }).details ?? []).map((d) => d.message)].join('\n');
  } finally {
    gateway.close();
    client.close();
  }
}

describe('the embedded peer and its organizations\' revocation lists', () => {
  it('refuses a revoked identity at once and after a restart', async () => {
    const dataDir = tempDir('crl');
    const quiet = () => undefined;
    let peer = await startDevPeer({ dataDir, log: quiet });
    const ca = peer.orgs.find((o) => o.mspId === 'HospitalAMSP')!.ca;
    const lost = await issueIdentity(ca, { commonName: 'lost-laptop', attrs: { role: 'practitioner' } });
    try {
      expect(await evaluateAs(peer.endpoint, lost)).not.toMatch(/access denied/);
      const serialNumber = new crypto.X509Certificate(lost.certPem).serialNumber;
      const crl = await createRevocationList(ca, [{ serialNumber }]);
      // a CRL the organization's CA did not sign is refused
      const otherCa = peer.orgs.find((o) => o.mspId === 'HospitalBMSP')!.ca;
      await expect(peer.setRevocationList('HospitalAMSP', await createRevocationList(otherCa, [{ serialNumber }]))).rejects.toThrow(/not signed by its CA/);
      await peer.setRevocationList('HospitalAMSP', crl);
      expect(await evaluateAs(peer.endpoint, lost)).toMatch(/CN=lost-laptop" of HospitalAMSP has been revoked/);
      await peer.stop();
      peer = await startDevPeer({ dataDir, log: quiet });
      expect(await evaluateAs(peer.endpoint, lost)).toMatch(/has been revoked/);
      expect(await evaluateAs(peer.endpoint, await issueIdentity(ca, { commonName: 'new-laptop' }))).not.toMatch(/access denied/);
    } finally {
      await peer.stop();
    }
  });
});
