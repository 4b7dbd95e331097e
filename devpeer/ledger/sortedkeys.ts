import { compareUtf8 } from './keyorder.js';

const CHUNK = 512;

/**
 * A sorted set of strings in UTF-8 byte order, kept as a list of sorted chunks (each at most 2×CHUNK
 * long) so that inserts and deletes cost O(log n + CHUNK) and ordered scans are cheap.
 */
export class SortedKeys {
  private chunks: string[][] = [];
  /** last (largest) key of each chunk */
  private maxes: string[] = [];
  private count = 0;
  /** bumped on every structural change so that running scans can re-seek */
  private mods = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `key`; returns false when it was already present. */
  add(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.maxes.push(key);
      this.count = 1;
      this.mods++;
      return true;
    }
    let ci = this.chunkFor(key);
    if (ci === this.chunks.length) ci--; // larger than every key: append to the last chunk
    const chunk = this.chunks[ci];
    const i = lowerBound(chunk, key);
    if (i < chunk.length && chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    if (i === chunk.length - 1) this.maxes[ci] = key;
    this.count++;
    this.mods++;
    if (chunk.length > 2 * CHUNK) {
      const tail = chunk.splice(CHUNK);
      this.chunks.splice(ci + 1, 0, tail);
      this.maxes.splice(ci, 1, chunk[chunk.length - 1], tail[tail.length - 1]);
    }
    return true;
  }

  /** Removes `key`; returns false when it was absent. */
  delete(key: string): boolean {
    const ci = this.chunkFor(key);
    if (ci === this.chunks.length) return false;
    const chunk = this.chunks[ci];
    const i = lowerBound(chunk, key);
    if (i >= chunk.length || chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    this.mods++;
    if (chunk.length === 0) {
      this.chunks.splice(ci, 1);
      this.maxes.splice(ci, 1);
    } else if (i === chunk.length) {
      this.maxes[ci] = chunk[chunk.length - 1];
    }
    return true;
  }

  /**
   * Keys k with start <= k < end ('' end: unbounded; includeEnd makes the end inclusive), in order.
   * Lazy and safe against concurrent changes: after a change it resumes after the last key it yielded.
   */
  *range(start: string, end: string, includeEnd = false): Generator<string> {
    let last: string | undefined;
    let mods = -1;
    let ci = 0;
    let i = 0;
    for (;;) {
      if (mods !== this.mods) {
        mods = this.mods;
        [ci, i] = last === undefined ? this.seek(start, true) : this.seek(last, false);
      }
      if (ci >= this.chunks.length) return;
      const chunk = this.chunks[ci];
      if (i >= chunk.length) {
        ci++;
        i = 0;
        continue;
      }
      const key = chunk[i++];
      if (end !== '') {
        const c = compareUtf8(key, end);
        if (c > 0 || (c === 0 && !includeEnd)) return;
      }
      last = key;
      yield key;
    }
  }

  /** Every key in order (a copy). */
  keys(): string[] {
    return this.chunks.flat();
  }

  /** Builds from keys already in UTF-8 order (e.g. a snapshot); much faster than repeated add(). */
  static fromSorted(keys: string[]): SortedKeys {
    const s = new SortedKeys();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      s.chunks.push(chunk);
      s.maxes.push(chunk[chunk.length - 1]);
    }
    s.count = keys.length;
    return s;
  }

  /** index of the first chunk whose max >= key, or chunks.length */
  private chunkFor(key: string): number {
    return lowerBound(this.maxes, key);
  }

  /** position of the first key >= k (inclusive) or > k (exclusive) */
  private seek(k: string, inclusive: boolean): [number, number] {
    const ci = this.chunkFor(k);
    if (ci === this.chunks.length) return [ci, 0];
    const chunk = this.chunks[ci];
    let i = lowerBound(chunk, k);
    if (!inclusive && i < chunk.length && chunk[i] === k) i++;
    return [ci, i];
  }
}

function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(arr[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
