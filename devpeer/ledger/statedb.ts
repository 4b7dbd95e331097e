import { compareUtf8 } from './keyorder.js';
import { SortedKeys } from './sortedkeys.js';
import type { KV, Version, VersionedValue } from './types.js';

interface Namespace {
  values: Map<string, VersionedValue>;
  keys: SortedKeys;
}

/** The world state: per namespace, key → (value, version), scannable in UTF-8 byte order. */
export class StateDB {
  private readonly spaces = new Map<string, Namespace>();

  get(ns: string, key: string): VersionedValue | undefined {
    return this.spaces.get(ns)?.values.get(key);
  }

  getVersion(ns: string, key: string): Version | undefined {
    return this.spaces.get(ns)?.values.get(key)?.version;
  }

  /** Stored values are never mutated afterwards, so readers may keep them. */
  put(ns: string, key: string, value: VersionedValue): void {
    const space = this.space(ns);
    if (!space.values.has(key)) space.keys.add(key);
    space.values.set(key, value);
  }

  delete(ns: string, key: string): void {
    const space = this.spaces.get(ns);
    if (space && space.values.delete(key)) space.keys.delete(key);
  }

  /** start <= key < end ('' end: unbounded; includeEnd: end inclusive), in order, current values. */
  *range(ns: string, start: string, end: string, includeEnd = false): Generator<KV> {
    const space = this.spaces.get(ns);
    if (!space) return;
    for (const key of space.keys.range(start, end, includeEnd)) {
      const value = space.values.get(key);
      if (value) yield { key, value };
    }
  }

  namespaces(): string[] {
    return [...this.spaces.keys()].filter((ns) => this.spaces.get(ns)!.values.size > 0).sort(compareUtf8);
  }

  /** All entries of a namespace in key order. */
  entries(ns: string): KV[] {
    const space = this.spaces.get(ns);
    if (!space) return [];
    return space.keys.keys().map((key) => ({ key, value: space.values.get(key)! }));
  }

  keyCount(): number {
    let n = 0;
    for (const s of this.spaces.values()) n += s.values.size;
    return n;
  }

  /** Loads a namespace from entries already in UTF-8 key order (snapshot restore). */
  loadSorted(ns: string, entries: KV[]): void {
    const values = new Map<string, VersionedValue>();
    for (const e of entries) values.set(e.key, e.value);
    this.spaces.set(ns, { values, keys: SortedKeys.fromSorted(entries.map((e) => e.key)) });
  }

  private space(ns: string): Namespace {
    let s = this.spaces.get(ns);
    if (!s) {
      s = { values: new Map(), keys: new SortedKeys() };
      this.spaces.set(ns, s);
    }
    return s;
  }
}
