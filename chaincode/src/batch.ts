import { anchorAudit } from './audit.js';
import type { ConsentContext } from './context.js';
import { rotateDocumentKey } from './document-keys.js';
import { addDocument, setDocumentStatus, supersedeDocument } from './documents.js';
import { invalid } from './errors.js';
import { parseJsonArg } from './json.js';
import { erasePatient } from './erasure.js';
import { registerOrganization, registerPatient, registerPractitioner } from './patients.js';
import { emergencyAccess, grantPermission, revokePermission, updatePermission } from './permissions.js';
import { asObject, stringList } from './validate.js';

interface Operation {
  arity: number;
  run(ctx: ConsentContext, args: string[]): Promise<unknown>;
}

/** The submit transactions a batch may contain (not SubmitBatch itself), with their argument counts. */
export const BATCH_OPERATIONS: Readonly<Record<string, Operation>> = {
  RegisterPatient: { arity: 1, run: (ctx, [a]) => registerPatient(ctx, a) },
  RegisterPractitioner: { arity: 1, run: (ctx, [a]) => registerPractitioner(ctx, a) },
  RegisterOrganization: { arity: 1, run: (ctx, [a]) => registerOrganization(ctx, a) },
  GrantPermission: { arity: 1, run: (ctx, [a]) => grantPermission(ctx, a) },
  UpdatePermission: { arity: 1, run: (ctx, [a]) => updatePermission(ctx, a) },
  RevokePermission: { arity: 2, run: (ctx, [a, b]) => revokePermission(ctx, a, b) },
  AddDocument: { arity: 1, run: (ctx, [a]) => addDocument(ctx, a) },
  SupersedeDocument: { arity: 3, run: (ctx, [a, b, c]) => supersedeDocument(ctx, a, b, c) },
  SetDocumentStatus: { arity: 3, run: (ctx, [a, b, c]) => setDocumentStatus(ctx, a, b, c) },
  RotateDocumentKey: { arity: 3, run: (ctx, [a, b, c]) => rotateDocumentKey(ctx, a, b, c) },
  EmergencyAccess: { arity: 2, run: (ctx, [a, b]) => emergencyAccess(ctx, a, b) },
  ErasePatient: { arity: 1, run: (ctx, [a]) => erasePatient(ctx, a) },
  AnchorAudit: { arity: 1, run: (ctx, [a]) => anchorAudit(ctx, a) },
};

export const MAX_BATCH = 100;

/**
 * Runs the operations in order in one transaction. Any failure throws, so the whole transaction fails
 * and nothing is written; later operations read earlier ones' writes through the store's overlay.
 */
export async function submitBatch(ctx: ConsentContext, opsJson: string): Promise<unknown[]> {
  const ops = parseJsonArg(opsJson, 'operations');
  if (!Array.isArray(ops) || ops.length < 1 || ops.length > MAX_BATCH) {
    throw invalid(`operations must be a list of 1 to ${MAX_BATCH} entries`);
  }
  const parsed = ops.map((raw, i) => {
    const op = asObject(raw, `operation ${i}`, ['fn', 'args']);
    const operation = typeof op.fn === 'string' && Object.hasOwn(BATCH_OPERATIONS, op.fn) ? BATCH_OPERATIONS[op.fn] : undefined;
    if (!operation) {
      throw invalid(`operation ${i}: fn must be one of ${Object.keys(BATCH_OPERATIONS).join(', ')}`);
    }
    const args = stringList(op.args, `operation ${i} args`);
    if (args.length !== operation.arity) {
      throw invalid(`operation ${i} (${String(op.fn)}) takes ${operation.arity} arguments, got ${args.length}`);
    }
    return { fn: op.fn as string, operation, args };
  });
  ctx.batch = true;
  const results: unknown[] = [];
  for (const [i, { fn, operation, args }] of parsed.entries()) {
    try {
      results.push(await operation.run(ctx, args));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${message} (batch operation ${i}: ${fn})`);
    }
  }
  return results;
}
