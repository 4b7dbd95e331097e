import type { RequestContext } from '../fhir/context.js';
import type { LedgerProjection } from '../ledger/projection.js';

/**
 * Every read of ledger-backed data starts here: the replica must be fresh enough to decide on
 * (else LedgerUnavailableError → 503), and the height it is at is recorded for X-Ledger-Height.
 */
export function decideAt(ctx: RequestContext, projection: LedgerProjection): number {
  const height = projection.assertFresh();
  ctx.ledgerHeight = height;
  return height;
}

/** After a write committed in `blockNumber`, wait until our replica has it (read-your-writes). */
export async function settle(ctx: RequestContext, projection: LedgerProjection, blockNumber: number): Promise<void> {
  await projection.waitForBlock(blockNumber);
  ctx.ledgerHeight = projection.height();
}
