import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BLOCK_FILE } from './blockstore.js';

/** Where the devpeer keeps a channel's ledger inside its data folder. */
export function ledgerDir(dataDir: string, channel: string): string {
  return join(dataDir, 'devpeer', 'ledger', channel);
}

/**
 * The channel ledger folders found at `path`: a ledger folder itself, or a data root
 * (<data>/devpeer/ledger/<channel>), or anything in between. Sorted by path.
 */
export function findLedgerDirs(path: string): string[] {
  const root = resolve(path);
  if (isLedger(root)) return [root];
  for (const sub of ['devpeer/ledger', 'ledger', '.']) {
    const base = join(root, sub);
    if (!isDir(base)) continue;
    const found = readdirSync(base)
      .map((name) => join(base, name))
      .filter(isLedger)
      .sort();
    if (found.length > 0) return found;
  }
  return [];
}

function isLedger(dir: string): boolean {
  return existsSync(join(dir, BLOCK_FILE));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
