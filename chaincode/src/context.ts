import { Context } from 'fabric-contract-api';
import { callerOf, type Caller } from './identity.js';
import type { LedgerEvent } from './records.js';
import { Store } from './store.js';
import { isoFromMs, txTimeMs } from './time.js';

/**
 * Per-transaction state: the store with its write overlay, the events the operations raised, and
 * whether the transaction is a SubmitBatch (then the events are wrapped in one BatchSubmitted).
 * fabric-contract-api injects stub and clientIdentity after construction, so `begin` runs from
 * beforeTransaction.
 */
export class ConsentContext extends Context {
  store!: Store;
  caller!: Caller;
  nowMs = 0;
  events: LedgerEvent[] = [];
  batch = false;

  begin(): void {
    this.store = new Store(this.stub);
    this.caller = callerOf(this);
    this.nowMs = txTimeMs(this.stub);
  }

  get now(): string {
    return isoFromMs(this.nowMs);
  }

  emit(name: string, payload: Record<string, unknown>): void {
    this.events.push({ name, payload });
  }
}
