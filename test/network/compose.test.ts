// The Fabric network cannot start here (no Docker engine), so this checks what can be checked without
// one: docker-compose accepts the file, the services and pinned images are the intended ones, and the
// scripts parse.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CCAAS_ADDRESS } from '../../chaincode/scripts/ccaas-package.js';

const root = path.resolve(import.meta.dirname, '../..');
const scriptsDir = path.join(root, 'network/scripts');
const scripts = fs.readdirSync(scriptsDir).filter((f) => f.endsWith('.sh'));
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

/** YAML -> JSON with the PyYAML that the Debian docker-compose package depends on. */
function yamlToJson(text: string): unknown {
  const out = execFileSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: text,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  profiles?: string[];
  volumes?: (string | { source: string; target: string })[];
}

let config: { services: Record<string, Service> };

beforeAll(() => {
  const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker-compose config failed: ${result.stderr || result.error}`);
  config = yamlToJson(result.stdout) as { services: Record<string, Service> };
});

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q` without warnings', () => {
    const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/WARN/i);
  });

  it('defines the two-hospital network with pinned Fabric 2.5 / Fabric CA 1.5 images', () => {
    const { services } = config;
    expect(Object.keys(services).sort()).toEqual([
      'ca-hospitala', 'ca-hospitalb', 'ca-orderer', 'consentry-ccaas', 'couchdb-hospitala', 'couchdb-hospitalb',
      'orderer0', 'peer0-hospitala', 'peer0-hospitalb', 'tools',
    ]);
    for (const [name, svc] of Object.entries(services)) {
      const image = svc.image ?? '';
      if (image.startsWith('hyperledger/fabric-ca')) expect(image, name).toMatch(/^hyperledger\/fabric-ca:1\.5\.\d+$/);
      else if (image.startsWith('hyperledger/')) expect(image, name).toMatch(/^hyperledger\/fabric-(peer|orderer|tools):2\.5\.\d+$/);
    }
    const orderer = services.orderer0.environment!;
    expect(orderer.ORDERER_GENERAL_BOOTSTRAPMETHOD).toBe('none');
    expect(orderer.ORDERER_CHANNELPARTICIPATION_ENABLED).toBe('true');
    for (const [org, msp] of [['hospitala', 'HospitalAMSP'], ['hospitalb', 'HospitalBMSP']]) {
      const env = services[`peer0-${org}`].environment!;
      expect(env.CORE_PEER_LOCALMSPID).toBe(msp);
      expect(env.CORE_LEDGER_STATE_STATEDATABASE).toBe('CouchDB');
      expect(env.CORE_LEDGER_STATE_COUCHDBCONFIG_COUCHDBADDRESS).toBe(`couchdb-${org}:5984`);
      expect(env.CORE_PEER_TLS_ENABLED).toBe('true');
    }
  });

  it('runs the chaincode service where the CCaaS package tells the peers to dial it', () => {
    const ccaas = config.services['consentry-ccaas'];
    expect(ccaas.build?.dockerfile).toBe('chaincode/Dockerfile');
    expect(fs.existsSync(path.join(root, 'chaincode/Dockerfile'))).toBe(true);
    const [host, port] = DEFAULT_CCAAS_ADDRESS.split(':');
    expect(config.services[host]).toBe(ccaas);
    expect(ccaas.environment!.CHAINCODE_SERVER_ADDRESS).toBe(`0.0.0.0:${port}`);
  });
});

describe('network configuration', () => {
  it('configtx.yaml defines channel profile ConsentryChannel with both hospitals and a Raft orderer', () => {
    const configtx = yamlToJson(fs.readFileSync(path.join(root, 'network/configtx/configtx.yaml'), 'utf8')) as {
      Profiles: Record<string, { Orderer: { OrdererType: string; Organizations: { ID: string }[] }; Application: { Organizations: { ID: string; AnchorPeers: unknown[] }[] } }>;
    };
    const profile = configtx.Profiles.ConsentryChannel;
    expect(profile.Orderer.OrdererType).toBe('etcdraft');
    expect(profile.Orderer.Organizations.map((o) => o.ID)).toEqual(['OrdererMSP']);
    expect(profile.Application.Organizations.map((o) => o.ID)).toEqual(['HospitalAMSP', 'HospitalBMSP']);
    for (const org of profile.Application.Organizations) expect(org.AnchorPeers).toHaveLength(1);
  });

  it('enables NodeOUs for every MSP folder', () => {
    const cfg = yamlToJson(fs.readFileSync(path.join(root, 'network/msp-config.yaml'), 'utf8')) as {
      NodeOUs: Record<string, unknown>;
    };
    expect(cfg.NodeOUs.Enable).toBe(true);
    for (const ou of ['Client', 'Peer', 'Admin', 'Orderer']) {
      expect(cfg.NodeOUs[`${ou}OUIdentifier`]).toEqual({ OrganizationalUnitIdentifier: ou.toLowerCase() });
    }
  });
});

describe('network scripts', () => {
  it('has the expected scripts', () => {
    expect(scripts.sort()).toEqual(
      ['common.sh', 'create-channel.sh', 'deploy-chaincode.sh', 'down.sh', 'enroll.sh', 'register-user.sh', 'up.sh'],
    );
  });

  it.each(scripts)('%s parses (bash -n)', (script) => {
    const result = spawnSync('bash', ['-n', path.join(scriptsDir, script)], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  });

  it('passes shellcheck', () => {
    expect(hasShellcheck, 'shellcheck is not installed (apt-get install shellcheck; .ci/run does this)').toBe(true);
    const result = spawnSync('shellcheck', ['-x', '-P', 'SCRIPTDIR', '-s', 'bash', ...scripts], {
      cwd: scriptsDir,
      encoding: 'utf8',
    });
    expect(result.status, result.stdout).toBe(0);
  });
});
