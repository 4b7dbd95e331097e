// npm run ledger:verify [-- --data DIR]
// Recomputes every channel ledger under DIR (a data root, default $DATA_DIR or ./data, or one ledger
// folder) and exits non-zero, naming the first bad block, when anything does not verify.
import { findLedgerDirs } from './ledger/layout.js';
import { verifyLedger } from './ledger/verify-ledger.js';

function dataArg(argv: string[]): string {
  const i = argv.findIndex((a) => a === '--data' || a.startsWith('--data='));
  if (i < 0) return process.env.DATA_DIR || './data';
  const a = argv[i];
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  if (!v) throw new Error('--data needs a folder');
  return v;
}

async function main(): Promise<number> {
  const data = dataArg(process.argv.slice(2));
  const dirs = findLedgerDirs(data);
  if (dirs.length === 0) {
    console.error(`ledger:verify: no ledger found under ${data} (expected <data>/devpeer/ledger/<channel>/blocks.dat)`);
    return 2;
  }
  let failed = 0;
  for (const dir of dirs) {
    const r = await verifyLedger(dir);
    const status = r.ok ? 'OK  ' : 'FAIL';
    console.log(`${status} ${r.dir}`);
    console.log(
      `     channel ${r.channel ?? '?'}: ${r.height} blocks, ${r.transactions} transactions ` +
        `(${r.validTransactions} valid), ${r.stateKeys} state keys, snapshot ${r.snapshot}, ${r.ms} ms`,
    );
    console.log(`     ${r.message}`);
    if (!r.ok) failed++;
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`ledger:verify: ${(e as Error).stack ?? String(e)}`);
    process.exit(2);
  },
);
