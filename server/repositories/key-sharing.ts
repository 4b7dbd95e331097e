import type { Database } from '../db/database.js';
import type { DocumentStore, RecipientPrivate } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import type { LedgerClient } from '../ledger/index.js';
import type { LedgerUser } from '../ledger/identity.js';
import { ensureOrganizationKey } from '../membership/organization-key.js';
import { GranteeKeys } from './grantee-keys.js';
import type { KeyHolders } from './key-holders.js';
import { SharedDemographics } from './shared-demographics.js';

// break-glass keys wait for this at most; a run that finds nothing due is two index probes
const RUN_EVERY_MS = 2_000;

export interface KeySharing {
  granteeKeys: GranteeKeys;
  demographics: SharedDemographics;
  /** the demographics a patient of another hospital sealed for the caller or the caller's organization */
  foreignDemographics(ctx: RequestContext, pseudonym: string): Promise<Record<string, unknown> | undefined>;
  /** a local Patient resource changed: reseal what its patient shares with other hospitals */
  patientChanged(patientId: string): Promise<void>;
  /** publishes the organization key (if the ledger lacks it) and starts running due key syncs */
  start(): Promise<void>;
  /** stops the timer and waits for a run in flight (before the database closes) */
  stop(): Promise<void>;
}

/** One hospital's part in encryption for every grantee (DESIGN §6) and in sharing demographics across hospitals. */
export function keySharing(deps: { db: Database; documents: DocumentStore; keys: KeyHolders; ledger: LedgerClient; admin: LedgerUser; log: (msg: string) => void }): KeySharing {
  const { db, documents, keys, ledger, admin, log } = deps;
  const demographics = new SharedDemographics(documents.blobs, db, keys);
  const granteeKeys = new GranteeKeys({ db, documents, keys, demographics, log });
  let timer: NodeJS.Timeout | undefined;
  let organizationKeyPublished = false;
  let lastFailure = '';
  let tick: Promise<void> = Promise.resolve();

  const publishOrganizationKey = async (): Promise<void> => {
    if (organizationKeyPublished) return;
    try {
      await ensureOrganizationKey(db, ledger.consentry, admin, keys.vault);
      organizationKeyPublished = true;
    } catch (err) {
      // retried on every run; said once per kind of failure
      const failure = err instanceof Error ? err.message : String(err);
      if (failure !== lastFailure) log(`organization encryption key not published on the ledger yet: ${failure}`);
      lastFailure = failure;
    }
  };

  return {
    granteeKeys,
    demographics,
    async foreignDemographics(ctx, pseudonym) {
      const candidates: RecipientPrivate[] = [];
      for (const id of [ctx.caller.ledgerId, `Organization/${keys.mspId}`]) {
        const privateKey = await keys.privateKeyOf(id);
        if (privateKey) candidates.push({ id, privateKey });
      }
      return demographics.open(pseudonym, candidates);
    },
    async patientChanged(patientId) {
      try {
        const { rows } = await db.query<{ pseudonym: string }>('SELECT pseudonym FROM patient_pseudonyms WHERE patient_id = $1', [patientId]);
        if (rows[0]) await granteeKeys.afterDemographicsChanged(rows[0].pseudonym);
      } catch (err) {
        log(`demographics of Patient/${patientId} not shared again: ${err instanceof Error ? err.message : err}`);
      }
    },
    async start() {
      await publishOrganizationKey();
      let busy = false;
      timer = setInterval(() => {
        if (busy) return; // a slow run is never queued behind another
        busy = true;
        tick = (async () => {
          await publishOrganizationKey();
          try {
            await granteeKeys.followEmergencyAccess();
            await granteeKeys.runDue();
          } catch (err) {
            log(`due key syncs failed: ${err instanceof Error ? err.message : err}`);
          }
        })().finally(() => {
          busy = false;
        });
      }, RUN_EVERY_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await tick;
    },
  };
}
