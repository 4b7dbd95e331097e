import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ledgerConfigFromEnv } from '../../server/ledger/config.js';

describe('ledger configuration', () => {
  it('defaults to the embedded peer under DATA_DIR', () => {
    expect(ledgerConfigFromEnv({ DATA_DIR: '/srv/consentry' })).toMatchObject({ mode: 'embedded', dataDir: '/srv/consentry', channel: 'consentry', chaincode: 'consentry', peerPort: 0 });
  });

  it('a real peer needs TLS unless it is on loopback, and the hospital service identity', () => {
    expect(() => ledgerConfigFromEnv({ FABRIC_PEER_ENDPOINT: 'peer0.hospitala.example:7051' })).toThrow(/FABRIC_TLS_ROOT_CERT/);
    expect(() => ledgerConfigFromEnv({ FABRIC_PEER_ENDPOINT: '127.0.0.1:7051' })).toThrow(/FABRIC_MSP_ID/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-cfg-'));
    for (const f of ['tls.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, f), `PEM ${f}`);
    const config = ledgerConfigFromEnv({
      FABRIC_PEER_ENDPOINT: 'peer0.hospitala.example:7051',
      FABRIC_TLS_ROOT_CERT: path.join(dir, 'tls.pem'),
      FABRIC_PEER_HOST_ALIAS: 'peer0.hospitala.example',
      FABRIC_MSP_ID: 'HospitalAMSP',
      FABRIC_SERVICE_CERT: path.join(dir, 'cert.pem'),
      FABRIC_SERVICE_KEY: path.join(dir, 'key.pem'),
      FABRIC_CHANNEL: 'records',
    });
    expect(config).toMatchObject({ mode: 'fabric', tlsRootCert: 'PEM tls.pem', hostAlias: 'peer0.hospitala.example', channel: 'records', serviceIdentity: { mspId: 'HospitalAMSP', certPem: 'PEM cert.pem' } });
  });

  it('rejects a malformed number with the variable named', () => {
    expect(() => ledgerConfigFromEnv({ LEDGER_MAX_LAG_BLOCKS: 'ten' })).toThrow(ConfigError);
    expect(() => ledgerConfigFromEnv({ LEDGER_MAX_LAG_BLOCKS: 'ten' })).toThrow(/LEDGER_MAX_LAG_BLOCKS/);
  });
});
