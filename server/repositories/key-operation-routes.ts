import type express from 'express';
import type { Request, Response } from 'express';
import type { RequestContext } from '../fhir/context.js';
import { readResourceBody } from '../fhir/http/body.js';
import { sendResource } from '../fhir/http/respond.js';
import { badRequest, forbidden } from '../fhir/outcome.js';
import type { Resource } from '../fhir/resource.js';
import { ctxOf } from '../fhir/router.js';
import type { ScopeGuard } from '../decisions/scope-guard.js';
import type { Interaction } from '../smart/scopes.js';
import type { KeyRotation } from './key-rotation.js';
import type { PatientErasure } from './patient-erasure.js';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

interface Parameter {
  name?: string;
  valueString?: string;
  valueId?: string;
  valueCode?: string;
  valueInteger?: number;
}

/**
 * The key operations (DESIGN §6): `Patient/<id>/$rotate-keys`, `DocumentReference/<id>/$rotate-key` and
 * `Patient/<id>/$erase`. The token's scopes must cover updating (rotations) or deleting (erasure) the resource; who
 * may do it at all is the patient or their home hospital's admin (patient-owner.ts), and the ledger checks again.
 */
export function keyOperationRoutes(deps: { rotation: KeyRotation; erasure: PatientErasure; scopes: Pick<ScopeGuard, 'reach'> }) {
  const { rotation, erasure, scopes } = deps;
  const handle = (type: string, interaction: Interaction, fn: (req: Request, res: Response, ctx: RequestContext) => Promise<void>) => (req: Request, res: Response, next: express.NextFunction) => {
    const ctx = ctxOf(req);
    (async () => {
      if (ctx.caller.grantKind === 'system') throw forbidden('a backend service holds no patient\'s keys');
      await scopes.reach(ctx, [type], interaction); // 403 unless a scope of the token covers it
      await fn(req, res, ctx);
    })().catch(next);
  };

  return (router: express.Router) => {
    router.post(
      '/Patient/:id/\\$rotate-keys',
      handle('Patient', 'u', async (req, res, ctx) => {
        const id = checkId(req.params.id);
        const result = await rotation.rotatePatientKeys(ctx, id);
        sendResource(res, ctx, 200, parameters([
          { name: 'rewrapped', valueInteger: result.rewrapped },
          { name: 'skipped', valueInteger: result.skipped },
        ]));
      }),
    );
    router.post(
      '/DocumentReference/:id/\\$rotate-key',
      handle('DocumentReference', 'u', async (req, res, ctx) => {
        const id = checkId(req.params.id);
        const result = await rotation.rotateDocumentKey(ctx, id);
        sendResource(res, ctx, 200, parameters([
          { name: 'document', valueString: `DocumentReference/${result.document.id}` },
          { name: 'ciphertextSha256', valueString: result.document.ciphertextSha256 },
          { name: 'previousCiphertextSha256', valueString: result.previousCiphertextSha256 },
          { name: 'recipients', valueInteger: result.recipients.length },
        ]));
      }),
    );
    router.post(
      '/Patient/:id/\\$erase',
      handle('Patient', 'd', async (req, res, ctx) => {
        const id = checkId(req.params.id);
        const confirm = await confirmation(req);
        if (confirm !== id) throw badRequest(`$erase destroys the patient's data for good: send Parameters with confirm = "${id}"`, ['Parameters.parameter']);
        const result = await erasure.erase(ctx, id);
        sendResource(res, ctx, 200, parameters([
          { name: 'erased', valueString: `Patient/${id}` },
          { name: 'documents', valueInteger: result.documents },
          { name: 'otherBlobs', valueInteger: result.otherBlobs },
        ]));
      }),
    );
  };
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) throw badRequest(`"${String(id)}" is not a valid FHIR id`);
  return id;
}

/** The `confirm` parameter of a Parameters body; undefined without a body or parameter. */
async function confirmation(req: Request): Promise<string | undefined> {
  if (!req.headers['content-length'] && !req.headers['transfer-encoding']) return undefined;
  const body = await readResourceBody(req);
  if (body.resourceType !== 'Parameters') throw badRequest('the body of $erase is a Parameters resource');
  const params = Array.isArray(body.parameter) ? (body.parameter as Parameter[]) : [];
  const confirm = params.find((p) => p?.name === 'confirm');
  return confirm?.valueString ?? confirm?.valueId ?? confirm?.valueCode;
}

function parameters(parameter: Parameter[]): Resource {
  return { resourceType: 'Parameters', parameter } as Resource;
}
