import type express from 'express';
import type { Request, Response } from 'express';
import type { Permission } from '../../chaincode/src/records.js';
import type { Database } from '../db/database.js';
import type { ScopeGuard } from '../decisions/scope-guard.js';
import type { DocumentStore } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import { readResourceBody } from '../fhir/http/body.js';
import { sendResource } from '../fhir/http/respond.js';
import { FhirError } from '../fhir/outcome.js';
import type { Resource } from '../fhir/resource.js';
import { ctxOf } from '../fhir/router.js';
import type { LedgerClient } from '../ledger/index.js';
import type { PatientDirectory } from '../membership/patients.js';
import { settle } from '../repositories/ledger-read.js';
import { certificateAttributes } from './certificate-attributes.js';

/** How long the operation waits for the patient's home hospital to wrap the documents' keys for the caller. */
export const KEY_WAIT_MS = 5_000;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export interface BreakGlassDeps {
  db: Database;
  ledger: LedgerClient;
  patients: PatientDirectory;
  documents: DocumentStore;
  /** the token's scopes must cover creating a Consent (the permission it writes) */
  scopes: Pick<ScopeGuard, 'reach'>;
  /** the Consent the permission is shown as, read as the caller */
  readConsent(ctx: RequestContext, id: string): Promise<Resource>;
  keyWaitMs?: number;
}

/**
 * `POST Patient/<id>/$break-glass` (DESIGN §3, issue 5 item 6): a practitioner whose certificate carries
 * `emergency=true` gives a reason and gets a 4-hour read permission on every category but patient-private, purpose
 * BTG, written by the chaincode's EmergencyAccess as that practitioner (flagged, emitted as an event, shown to the
 * patient as a Consent and in their AuditEvent history). Anyone else: 403; no reason: 400. The patient's home
 * hospital wraps the documents' keys for the caller when it sees the event; the operation answers once it has
 * (or after KEY_WAIT_MS, with a warning header), so that the first download does not meet a missing key.
 */
export function breakGlassRoutes(deps: BreakGlassDeps) {
  return (router: express.Router) => {
    router.post('/Patient/:id/\\$break-glass', (req, res, next) => breakGlass(req, res, ctxOf(req)).catch(next));
  };

  async function breakGlass(req: Request, res: Response, ctx: RequestContext): Promise<void> {
    const id = String(req.params.id);
    if (!ID_RE.test(id)) throw new FhirError(400, 'invalid', `"${id}" is not a valid FHIR id`);
    const caller = ctx.caller;
    if (caller.role !== 'practitioner' || caller.grantKind === 'system') {
      throw new FhirError(403, 'forbidden', 'break-glass is for practitioners');
    }
    if (certificateAttributes(caller.ledgerUser.certPem).emergency !== 'true') {
      throw new FhirError(403, 'forbidden', 'break-glass requires a practitioner identity with the attribute emergency=true');
    }
    // it writes a permission and answers with it as a Consent: the token must cover both, checked before anything is written
    await deps.scopes.reach(ctx, ['Consent'], 'c');
    await deps.scopes.reach(ctx, ['Consent'], 'r');
    const reason = reasonOf(await readResourceBody(req));
    const pseudonym = await deps.patients.pseudonymOf(`Patient/${id}`);
    if (!pseudonym) throw new FhirError(404, 'not-found', `Patient/${id} is not known here`);
    const committed = await deps.ledger.consentry.emergencyAccess(caller.ledgerUser, pseudonym, reason);
    await settle(ctx, deps.ledger.projection, committed.blockNumber);
    const keysReady = await waitForKeys(pseudonym, caller.ledgerId, committed.value, deps.keyWaitMs ?? KEY_WAIT_MS);
    const consent = await deps.readConsent(ctx, committed.value.id);
    if (!keysReady) res.setHeader('Warning', `199 - "the patient's home hospital has not yet wrapped every document key for you; retry a download that answers 403 shortly"`);
    sendResource(res, ctx, 201, consent, { location: `${ctx.baseUrl}/Consent/${consent.id}/_history/${consent.meta?.versionId}` });
  }

  /** True once every current document of the patient (but patient-private) has a key wrapped for the caller. */
  async function waitForKeys(patient: string, recipient: string, permission: Permission, waitMs: number): Promise<boolean> {
    const until = Date.now() + waitMs;
    const { rows } = await deps.db.query<{ blob: string }>(
      `SELECT record ->> 'blob' AS blob FROM ledger_documents WHERE patient = $1 AND status = 'current' AND category <> 'patient-private'`,
      [patient],
    );
    let pending = rows.map((r) => r.blob);
    for (;;) {
      const missing: string[] = [];
      for (const blob of pending) if (!(await deps.documents.hasRecipient(blob, recipient))) missing.push(blob);
      pending = missing;
      if (pending.length === 0) return true;
      if (Date.now() >= until || Date.parse(permission.to) <= Date.now()) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function reasonOf(body: Resource): string {
  if (body.resourceType !== 'Parameters') throw new FhirError(400, 'invalid', 'the body must be a Parameters resource with a "reason"');
  const params = (body.parameter as { name?: string; valueString?: string; valueCodeableConcept?: { text?: string } }[] | undefined) ?? [];
  const reason = params.find((p) => p.name === 'reason');
  const text = (reason?.valueString ?? reason?.valueCodeableConcept?.text ?? '').trim();
  if (!text) throw new FhirError(400, 'required', 'break-glass needs a non-empty "reason" parameter (valueString)');
  if (text.length > 1000) throw new FhirError(400, 'too-long', 'the reason is limited to 1000 characters');
  return text;
}
