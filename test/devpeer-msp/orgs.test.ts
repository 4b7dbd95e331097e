import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MspRegistry } from '../../devpeer/msp/msp.js';
import { ensureOrganizations } from '../../devpeer/msp/orgs.js';
import { serializeIdentity } from '../../devpeer/msp/serialize.js';

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-msp-'));
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('ensureOrganizations', () => {
  it('creates a CA, admin and peer per MSP with private keys readable only by the owner', async () => {
    const orgs = await ensureOrganizations(root, ['HospitalAMSP', 'HospitalBMSP']);
    expect(orgs.map((o) => o.mspId)).toEqual(['HospitalAMSP', 'HospitalBMSP']);
    for (const org of orgs) {
      expect(path.dirname(org.paths.caCert)).toBe(path.join(root, org.mspId));
      for (const [name, file] of Object.entries(org.paths)) {
        const mode = fs.statSync(file).mode & 0o777;
        if (name.endsWith('Key')) expect(mode, name).toBe(0o600);
        expect(fs.readFileSync(file, 'utf8')).toMatch(/^-----BEGIN /);
      }
      expect(fs.readFileSync(org.paths.adminCert, 'utf8')).toBe(org.admin.certPem);
    }
    const reg = new MspRegistry(orgs.map((o) => ({ mspId: o.mspId, caCertPem: o.ca.certPem })));
    const admin = reg.validate(serializeIdentity('HospitalBMSP', orgs[1].admin.certPem));
    expect(admin.ou).toBe('admin');
    expect(admin.attrs.role).toBe('admin');
    expect(reg.validate(serializeIdentity('HospitalAMSP', orgs[0].peer.certPem)).ou).toBe('peer');
  });

  it('loads the same material on later starts and reissues only a missing identity', async () => {
    const [first] = await ensureOrganizations(root, ['HospitalAMSP']);
    const [again] = await ensureOrganizations(root, ['HospitalAMSP']);
    expect(again.ca).toEqual(first.ca);
    expect(again.admin).toEqual(first.admin);
    fs.rmSync(first.paths.adminKey);
    const [repaired] = await ensureOrganizations(root, ['HospitalAMSP']);
    expect(repaired.ca).toEqual(first.ca);
    expect(repaired.peer).toEqual(first.peer);
    expect(repaired.admin.certPem).not.toBe(first.admin.certPem);
    const reg = new MspRegistry([{ mspId: 'HospitalAMSP', caCertPem: repaired.ca.certPem }]);
    expect(reg.validate(serializeIdentity('HospitalAMSP', repaired.admin.certPem)).ou).toBe('admin');
  });

  it('refuses to replace half of a CA', async () => {
    const [first] = await ensureOrganizations(root, ['HospitalAMSP']);
    fs.rmSync(first.paths.caKey);
    await expect(ensureOrganizations(root, ['HospitalAMSP'])).rejects.toThrow(/only one of ca-cert.pem and ca-key.pem/);
  });

  it('rejects an MSP id that is not a plain directory name', async () => {
    await expect(ensureOrganizations(root, ['../evil'])).rejects.toThrow(/invalid MSP id/);
  });
});
