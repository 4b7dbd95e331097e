import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCcaasPackage, packageId } from '../../chaincode/scripts/ccaas-package.js';

const root = path.resolve(import.meta.dirname, '../..');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-ccaas-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Lists a .tar.gz with the system tar (an independent reader), as "type name" lines. */
function listing(file: string): string[] {
  return execFileSync('tar', ['-tvzf', file], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => `${line[0]} ${line.split(/\s+/).at(-1)}`);
}

describe('npm run package:chaincode', () => {
  it('writes a CCaaS package the peer accepts: metadata.json and code.tar.gz holding connection.json', () => {
    const out = path.join(tmp, 'dist');
    const stdout = execFileSync('npm', ['run', '--silent', 'package:chaincode', '--', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const file = path.join(out, 'consentry-ccaas.tar.gz');
    expect(summary.package).toBe(file);

    // Fabric's package parser accepts only regular files named exactly like this.
    expect(listing(file)).toEqual(['- metadata.json', '- code.tar.gz']);
    const unpacked = path.join(tmp, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', file, '-C', unpacked]);
    expect(JSON.parse(fs.readFileSync(path.join(unpacked, 'metadata.json'), 'utf8'))).toEqual({
      type: 'ccaas',
      label: 'consentry_1.0',
    });
    const code = path.join(unpacked, 'code.tar.gz');
    expect(listing(code)).toEqual(['- connection.json']);
    const connection = execFileSync('tar', ['-xzOf', code, 'connection.json'], { encoding: 'utf8' });
    expect(JSON.parse(connection)).toEqual({ address: 'consentry-ccaas:9999', dial_timeout: '10s', tls_required: false });

    // The package ID is what `peer lifecycle chaincode install` reports: label:sha256(package file).
    const digest = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(summary.packageId).toBe(`consentry_1.0:${digest}`);
    expect(fs.readFileSync(path.join(out, 'consentry-ccaas.package-id'), 'utf8')).toBe(`consentry_1.0:${digest}\n`);
  });

  it('is byte-for-byte reproducible, so the package ID is stable across rebuilds', () => {
    const a = buildCcaasPackage({ label: 'consentry_1.0', address: 'consentry-ccaas:9999' });
    const b = buildCcaasPackage({ label: 'consentry_1.0', address: 'consentry-ccaas:9999' });
    expect(a.equals(b)).toBe(true);
    const other = buildCcaasPackage({ label: 'consentry_1.0', address: 'cc.hospitala:9999' });
    expect(packageId('consentry_1.0', other)).not.toBe(packageId('consentry_1.0', a));
  });

  it('rejects labels Fabric would refuse and addresses without a port', () => {
    expect(() => buildCcaasPackage({ label: 'consentry 1.0', address: 'consentry-ccaas:9999' })).toThrow(/invalid chaincode label/);
    expect(() => buildCcaasPackage({ label: '_consentry', address: 'consentry-ccaas:9999' })).toThrow(/invalid chaincode label/);
    expect(() => buildCcaasPackage({ label: 'consentry_1.0', address: 'consentry-ccaas' })).toThrow(/host:port/);
  });
});
