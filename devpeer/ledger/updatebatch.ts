import { compareUtf8 } from './keyorder.js';
import type { Version } from './types.js';

export interface PendingWrite {
  /** null: delete */
  value: Uint8Array | null;
  version: Version;
}

/** The state updates of the valid transactions of one block, in the order they were validated. */
export class UpdateBatch {
  private readonly spaces = new Map<string, Map<string, PendingWrite>>();

  has(ns: string, key: string): boolean {
    return this.spaces.get(ns)?.has(key) ?? false;
  }

  put(ns: string, key: string, w: PendingWrite): void {
    let space = this.spaces.get(ns);
    if (!space) {
      space = new Map();
      this.spaces.set(ns, space);
    }
    space.set(key, w);
  }

  get empty(): boolean {
    return this.spaces.size === 0;
  }

  /** namespaces, then keys, in UTF-8 order */
  sorted(): { ns: string; writes: [string, PendingWrite][] }[] {
    return [...this.spaces.keys()].sort(compareUtf8).map((ns) => ({
      ns,
      writes: [...this.spaces.get(ns)!.entries()].sort((a, b) => compareUtf8(a[0], b[0])),
    }));
  }

  /** pending writes of a namespace inside [start, end) (end inclusive when asked; '' end: unbounded), sorted */
  inRange(ns: string, start: string, end: string, includeEnd: boolean): [string, PendingWrite][] {
    const space = this.spaces.get(ns);
    if (!space) return [];
    const out: [string, PendingWrite][] = [];
    for (const e of space) {
      if (compareUtf8(e[0], start) < 0) continue;
      if (end !== '') {
        const c = compareUtf8(e[0], end);
        if (c > 0 || (c === 0 && !includeEnd)) continue;
      }
      out.push(e);
    }
    return out.sort((a, b) => compareUtf8(a[0], b[0]));
  }
}
