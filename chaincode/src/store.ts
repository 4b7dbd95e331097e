import type { Context } from 'fabric-contract-api';
import { canonicalBytes } from './json.js';
import type { HistoryEntry } from './records.js';
import { timestampToIso } from './time.js';

type Stub = Context['stub'];

export const KEY_TYPES = {
  patient: 'patient',
  practitioner: 'practitioner',
  organization: 'organization',
  permission: 'permission',
  document: 'document',
  audit: 'audit',
} as const;
export type KeyType = keyof typeof KEY_TYPES;

export interface Entry<T> {
  key: string;
  value: T;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function decode<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

/**
 * World-state access for one transaction. Fabric gives no read-your-writes (getState returns committed
 * state), so writes are also kept in a tx-local overlay that every read consults first; this is what lets
 * the operations of SubmitBatch see each other's writes. Values are written as deterministic JSON.
 */
export class Store {
  private readonly writes = new Map<string, Buffer>();

  constructor(private readonly stub: Stub) {}

  key(type: KeyType, attributes: string[]): string {
    return this.stub.createCompositeKey(KEY_TYPES[type], attributes);
  }

  async get<T>(type: KeyType, attributes: string[]): Promise<T | undefined> {
    const key = this.key(type, attributes);
    const pending = this.writes.get(key);
    if (pending !== undefined) return decode<T>(pending);
    const committed = await this.stub.getState(key);
    if (!committed || committed.length === 0) return undefined;
    return decode<T>(committed);
  }

  async put(type: KeyType, attributes: string[], value: object): Promise<void> {
    const key = this.key(type, attributes);
    const bytes = canonicalBytes(value);
    this.writes.set(key, bytes);
    await this.stub.putState(key, bytes);
  }

  /** All records under a partial composite key, committed merged with this tx's writes, in UTF-8 key order. */
  async list<T>(type: KeyType, attributes: string[]): Promise<Entry<T>[]> {
    const prefix = this.key(type, attributes);
    const merged = new Map<string, Uint8Array>();
    for await (const kv of this.stub.getStateByPartialCompositeKey(KEY_TYPES[type], attributes)) {
      merged.set(kv.key, kv.value);
    }
    for (const [key, bytes] of this.writes) {
      if (key.startsWith(prefix)) merged.set(key, bytes);
    }
    return [...merged.keys()]
      .sort(utf8Compare)
      .map((key) => ({ key, value: decode<T>(merged.get(key) as Uint8Array) }));
  }

  /** The committed history of one key, in the order the peer gives it (newest first). */
  async history<T>(type: KeyType, attributes: string[]): Promise<HistoryEntry<T>[]> {
    const entries: HistoryEntry<T>[] = [];
    for await (const mod of this.stub.getHistoryForKey(this.key(type, attributes))) {
      const empty = mod.isDelete || !mod.value || mod.value.length === 0;
      entries.push({
        txId: mod.txId,
        timestamp: timestampToIso(mod.timestamp),
        isDelete: mod.isDelete,
        value: empty ? null : decode<T>(mod.value),
      });
    }
    return entries;
  }
}
