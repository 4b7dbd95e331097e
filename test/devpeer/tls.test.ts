// The gateway over TLS when a server certificate is configured.
import 'reflect-metadata';
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, GatewayError, hash } from '@hyperledger/fabric-gateway';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { startDevPeer } from '../../devpeer/index.js';
import { newUser, tempDir } from './support.js';

x509.cryptoProvider.set(crypto.webcrypto);

async function selfSignedServerCert(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }])],
  });
  const pkcs8 = await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

describe('TLS', () => {
  it('serves the gateway over TLS and refuses plaintext clients', async () => {
    const tls = await selfSignedServerCert();
    const devpeer = await startDevPeer({ dataDir: await tempDir(), tls, log: () => undefined });
    try {
      const user = await newUser(devpeer.orgs[0].ca, 'tls-user', { role: 'admin' });
      const client = new grpc.Client(devpeer.endpoint, grpc.credentials.createSsl(Buffer.from(tls.certPem)), {
        'grpc.ssl_target_name_override': 'localhost',
      });
      const gateway = connect({ client, identity: user.identity, signer: user.signer, hash: hash.sha256 });
      const info = await gateway.getNetwork('consentry').getContract('qscc').evaluateTransaction('GetChainInfo', 'consentry');
      expect(info.length).toBeGreaterThan(0);
      gateway.close();
      client.close();

      const plain = new grpc.Client(devpeer.endpoint, grpc.credentials.createInsecure());
      const insecure = connect({
        client: plain,
        identity: user.identity,
        signer: user.signer,
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + 2000 }),
      });
      const err = await insecure.getNetwork('consentry').getContract('qscc').evaluateTransaction('GetChainInfo', 'consentry').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain((err as GatewayError).code);
      insecure.close();
      plain.close();
    } finally {
      await devpeer.stop();
    }
  });
});
