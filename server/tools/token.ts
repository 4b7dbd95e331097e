// npm run token -- --hospital A --user <username> [--scope '<scopes>'] [--minutes 60]
// Signs an access token with that hospital's key from DATA_DIR, for tests and operators (offline).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateSigningKey } from '../auth/signing-key.js';
import { TokenService } from '../auth/tokens.js';

async function main() {
  const { values } = parseArgs({ options: { hospital: { type: 'string' }, user: { type: 'string' }, scope: { type: 'string', default: '' }, minutes: { type: 'string', default: '60' }, data: { type: 'string' } } });
  if (!values.hospital || !values.user) throw new Error("usage: npm run token -- --hospital A --user <username> [--scope '<scopes>']");
  const dataDir = path.resolve(values.data ?? process.env.DATA_DIR ?? './data');
  const name = /^[A-Za-z]$/.test(values.hospital) ? `hospital${values.hospital.toLowerCase()}` : values.hospital.toLowerCase().replace(/msp$/, '');
  const nodeFile = path.join(dataDir, name, 'node.json');
  if (!fs.existsSync(nodeFile)) throw new Error(`${nodeFile} not found: start that hospital node once first`);
  const { baseUrl } = JSON.parse(fs.readFileSync(nodeFile, 'utf8')) as { baseUrl: string };
  const tokens = new TokenService(await loadOrCreateSigningKey(path.join(dataDir, name, 'keys')), baseUrl);
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 60) throw new Error('--minutes must be between 1 and 60');
  process.stdout.write(`${await tokens.issue({ sub: values.user, scope: values.scope || undefined }, minutes * 60)}\n`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
