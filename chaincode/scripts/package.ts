// npm run package:chaincode [-- --out DIR --label L --address HOST:PORT]
// Writes DIR/consentry-ccaas.tar.gz and DIR/consentry-ccaas.package-id; prints one JSON line.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCcaasPackage, DEFAULT_CCAAS_ADDRESS, DEFAULT_LABEL, packageId } from './ccaas-package.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(repoRoot, 'dist') },
    label: { type: 'string', default: DEFAULT_LABEL },
    address: { type: 'string', default: DEFAULT_CCAAS_ADDRESS },
  },
});

const label = values.label;
const pkg = buildCcaasPackage({ label, address: values.address });
const id = packageId(label, pkg);
fs.mkdirSync(values.out, { recursive: true });
const file = path.join(values.out, 'consentry-ccaas.tar.gz');
fs.writeFileSync(file, pkg);
fs.writeFileSync(path.join(values.out, 'consentry-ccaas.package-id'), `${id}\n`);
console.log(JSON.stringify({ package: file, packageId: id, label, address: values.address }));
