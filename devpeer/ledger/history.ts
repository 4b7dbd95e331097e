import { compareUtf8 } from './keyorder.js';

/** Where a key was written (or deleted): its transaction's position, like Fabric's history DB. */
export interface HistoryPosition {
  blockNum: number;
  txNum: number;
}

/**
 * Per namespace and key, the positions of the valid transactions that wrote it, oldest first.
 * Values are not duplicated here: they are read back from the stored block when history is asked for.
 */
export class HistoryIndex {
  // flat [blockNum, txNum, blockNum, txNum, ...] per key
  private readonly spaces = new Map<string, Map<string, number[]>>();

  add(ns: string, key: string, blockNum: number, txNum: number): void {
    let space = this.spaces.get(ns);
    if (!space) {
      space = new Map();
      this.spaces.set(ns, space);
    }
    const list = space.get(key);
    if (list) {
      const n = list.length;
      if (list[n - 2] === blockNum && list[n - 1] === txNum) return; // one entry per transaction
      list.push(blockNum, txNum);
    }
    else space.set(key, [blockNum, txNum]);
  }

  /** newest first */
  positions(ns: string, key: string): HistoryPosition[] {
    const list = this.spaces.get(ns)?.get(key);
    if (!list) return [];
    const out: HistoryPosition[] = [];
    for (let i = list.length - 2; i >= 0; i -= 2) out.push({ blockNum: list[i], txNum: list[i + 1] });
    return out;
  }

  namespaces(): string[] {
    return [...this.spaces.keys()].sort(compareUtf8);
  }

  /** keys of a namespace with their flat position lists (oldest first), in insertion order */
  entries(ns: string): [string, number[]][] {
    const space = this.spaces.get(ns);
    return space ? [...space.entries()] : [];
  }

  /** the same, in UTF-8 key order */
  sortedEntries(ns: string): [string, number[]][] {
    return this.entries(ns).sort((a, b) => compareUtf8(a[0], b[0]));
  }

  load(ns: string, key: string, flat: number[]): void {
    let space = this.spaces.get(ns);
    if (!space) {
      space = new Map();
      this.spaces.set(ns, space);
    }
    space.set(key, flat);
  }
}
