/** A transaction's place on the ledger and its validation result. */
export interface TxLocation {
  blockNum: number;
  txNum: number;
  validationCode: number;
}

/**
 * txId → location, for every transaction whose id could be read (valid or not, as Fabric's block index).
 * A later duplicate never replaces the first entry. Iteration follows commit order.
 */
export class TxIndex {
  private readonly map = new Map<string, TxLocation>();

  has(txId: string): boolean {
    return this.map.has(txId);
  }

  get(txId: string): TxLocation | undefined {
    return this.map.get(txId);
  }

  add(txId: string, loc: TxLocation): void {
    if (txId !== '' && !this.map.has(txId)) this.map.set(txId, loc);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<[string, TxLocation]> {
    return this.map.entries();
  }
}
