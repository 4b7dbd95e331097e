import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

const heldHere = new Set<string>();

/**
 * An exclusive lock on a ledger folder: a LOCK file holding the owner's pid. A lock left by a process
 * that no longer runs (e.g. one that was SIGKILLed) is taken over.
 */
export function acquireLock(dir: string): () => void {
  const path = join(resolve(dir), 'LOCK');
  if (heldHere.has(path)) throw new Error(`ledger ${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        rmSync(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (owner && owner !== process.pid && alive(owner)) {
        throw new Error(`ledger ${dir} is in use by process ${owner} (if it is not a devpeer, remove ${path})`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ledger ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
