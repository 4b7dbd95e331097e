import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLedger, type FileLedger, type OpenLedgerOptions } from '../../devpeer/ledger/index.js';
import { CHANNEL } from './txbuilder.js';

const made: string[] = [];

/** A fresh ledger folder (<tmp>/devpeer/ledger/consent), removed by cleanupDirs(). */
export function tempLedgerDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'devpeer-ledger-test-'));
  made.push(root);
  return join(root, 'devpeer', 'ledger', CHANNEL);
}

export function cleanupDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const quiet = (): void => undefined;

export function open(dir: string, opts: Partial<OpenLedgerOptions> = {}): Promise<FileLedger> {
  return openLedger({ dir, channel: CHANNEL, log: quiet, ...opts });
}

/** [offset, total record length] of each record of a block file (24-byte header, length at byte 4). */
export function records(file: string): { offset: number; length: number }[] {
  const buf = readFileSync(file);
  const out: { offset: number; length: number }[] = [];
  for (let off = 0; off + 24 <= buf.length; ) {
    const length = 24 + buf.readUInt32BE(off + 4);
    out.push({ offset: off, length });
    off += length;
  }
  return out;
}

export const text = (v: Uint8Array | undefined): string | undefined => (v ? Buffer.from(v).toString() : undefined);
