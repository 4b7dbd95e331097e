import type { Database } from '../db/database.js';
import type { BlobStore } from '../documents/index.js';
import type { LedgerClient } from '../ledger/index.js';
import type { LedgerUser } from '../ledger/identity.js';
import type { KeyHolders } from '../repositories/key-holders.js';
import { AuditAnchoring, DEFAULT_ANCHOR_INTERVAL_MS } from './anchor.js';
import { Disclosures } from './disclosures.js';

export { AuditAnchoring, type AnchoredBatch } from './anchor.js';
export { Disclosures } from './disclosures.js';
export { verifyAuditLog, type AuditVerification, type AuditProblem } from './verify.js';

export interface AuditServices {
  /** anchors the read-access log on the ledger in the background */
  anchoring: AuditAnchoring;
  /** reads of this hospital's patients served elsewhere, and of other hospitals' patients served here */
  disclosures: Disclosures;
}

/** AUDIT_ANCHOR_INTERVAL_MS, default 2 s. */
export function anchorIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUDIT_ANCHOR_INTERVAL_MS;
  if (raw === undefined || raw === '') return DEFAULT_ANCHOR_INTERVAL_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 10 || ms > 3600_000) throw new Error(`AUDIT_ANCHOR_INTERVAL_MS must be an integer between 10 and 3600000, got ${raw}`);
  return ms;
}

export function auditServices(deps: { db: Database; ledger: LedgerClient; admin: LedgerUser; mspId: string; blobs: BlobStore; keys: KeyHolders; intervalMs?: number; log: (msg: string) => void }): AuditServices {
  const disclosures = new Disclosures({ db: deps.db, blobs: deps.blobs, keys: deps.keys, mspId: deps.mspId, log: deps.log });
  const anchoring = new AuditAnchoring({ db: deps.db, ledger: deps.ledger, admin: deps.admin, mspId: deps.mspId, disclosures, intervalMs: deps.intervalMs ?? anchorIntervalFromEnv(), log: deps.log });
  return { anchoring, disclosures };
}
