import type { NextFunction, Request, Response } from 'express';
import { BlobStoreUnavailableError, IntegrityError, NoKeyError } from '../../documents/errors.js';
import { LedgerRejectedError, LedgerUnavailableError } from '../../ledger/errors.js';
import { FhirInputError, FhirRuleError } from '../validation/index.js';
import { FhirError, outcome } from '../outcome.js';
import { FHIR_JSON } from './respond.js';

/** Maps anything thrown below the router to the FhirError a client sees. */
export function toFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) return err;
  if (err instanceof FhirInputError) return new FhirError(400, err.code, err.message, { expression: err.expression ? [err.expression] : undefined });
  if (err instanceof FhirRuleError) return new FhirError(422, 'invariant', err.message, { expression: [err.expression] });
  if (err instanceof LedgerUnavailableError) return new FhirError(503, 'transient', `ledger unavailable: ${err.message}`, { headers: { 'Retry-After': '1' } });
  if (err instanceof BlobStoreUnavailableError) return new FhirError(503, 'transient', `document storage unavailable: ${err.message}`, { headers: { 'Retry-After': '1' } });
  if (err instanceof IntegrityError) return new FhirError(502, 'exception', `stored content failed its integrity check: ${err.message}`);
  if (err instanceof NoKeyError) return new FhirError(403, 'forbidden', 'this hospital holds no key that opens the document');
  if (err instanceof LedgerRejectedError) {
    switch (err.kind) {
      case 'denied':
        return new FhirError(403, 'forbidden', `the ledger refused: ${err.message}`);
      case 'not-found':
        return new FhirError(404, 'not-found', err.message);
      case 'invalid':
        return new FhirError(422, 'business-rule', `the ledger refused: ${err.message}`);
      case 'conflict':
        return new FhirError(409, 'conflict', `the ledger refused: ${err.message}`);
      default:
        return new FhirError(422, 'business-rule', `the ledger refused: ${err.message}`);
    }
  }
  const syntax = err as { type?: string; status?: number; message?: string };
  if (syntax?.type === 'entity.too.large') return new FhirError(413, 'too-long', 'request body too large');
  if (typeof syntax?.status === 'number' && syntax.status >= 400 && syntax.status < 500) return new FhirError(syntax.status, 'invalid', syntax.message ?? 'bad request');
  return new FhirError(500, 'exception', 'internal error');
}

export function errorHandler(log: (msg: string) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const fhir = toFhirError(err);
    if (fhir.status >= 500) log(`${req.method} ${req.originalUrl} → ${fhir.status}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent) {
      res.destroy(err instanceof Error ? err : undefined);
      return;
    }
    for (const [k, v] of Object.entries(fhir.headers)) res.setHeader(k, v);
    const decidedAt = (req as Request & { fhir?: { ledgerHeight?: number } }).fhir?.ledgerHeight;
    if (decidedAt !== undefined) res.setHeader('X-Ledger-Height', String(decidedAt));
    res.status(fhir.status).type(FHIR_JSON).send(JSON.stringify(outcome(fhir.issues)));
  };
}
