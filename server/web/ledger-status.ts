import fs from 'node:fs';
import path from 'node:path';
import type express from 'express';
import { verifyLedger } from '../../devpeer/ledger/verify-ledger.js';
import type { Queryable } from '../db/database.js';
import { sendResource } from '../fhir/http/respond.js';
import { FhirError } from '../fhir/outcome.js';
import type { Resource } from '../fhir/resource.js';
import { ctxOf } from '../fhir/router.js';
import type { LedgerProjection } from '../ledger/projection.js';

export interface LedgerStatusDeps {
  db: Queryable;
  projection: LedgerProjection;
  /** the embedded peer's channel folder (blocks.dat), when this node runs on it: `?verify=true` checks it */
  ledgerDir?: string;
}

const LATEST_BLOCKS = 10;

/**
 * `GET /fhir/$ledger-status` (admins of this hospital, read-only): the ledger height, this hospital's replica
 * height, the latest blocks with consentry transactions, and with `verify=true` the result of `ledger:verify`
 * (embedded peer only; it re-reads the whole chain, so only on request).
 */
export function ledgerStatusRoute(deps: LedgerStatusDeps): (router: express.Router) => void {
  return (router) => {
    router.get('/\\$ledger-status', (req, res, next) => {
      (async () => {
        const ctx = ctxOf(req);
        if (ctx.caller.role !== 'admin') throw new FhirError(403, 'forbidden', 'the ledger status is for admins of this hospital');
        const verify = req.query.verify;
        if (verify !== undefined && verify !== 'true' && verify !== 'false') throw new FhirError(400, 'invalid', 'verify must be true or false');
        const { rows } = await deps.db.query<{ block_number: string; transactions: number; events: number; time: Date | string }>(
          `SELECT block_number, count(DISTINCT tx_id)::int AS transactions, count(*)::int AS events, max(tx_time) AS time
           FROM ledger_events GROUP BY block_number ORDER BY block_number DESC LIMIT ${LATEST_BLOCKS}`,
        );
        const parameter: Record<string, unknown>[] = [
          { name: 'height', valueInteger: deps.projection.ledgerHeight() },
          { name: 'replicaHeight', valueInteger: deps.projection.height() },
          ...rows.map((r) => ({
            name: 'block',
            part: [
              { name: 'number', valueInteger: Number(r.block_number) },
              { name: 'transactions', valueInteger: r.transactions },
              { name: 'events', valueInteger: r.events },
              { name: 'time', valueInstant: new Date(r.time).toISOString() },
            ],
          })),
        ];
        if (verify === 'true') {
          if (!deps.ledgerDir || !fs.existsSync(path.join(deps.ledgerDir))) {
            parameter.push({ name: 'verification', valueString: 'not available: this node does not run on the embedded peer' });
          } else {
            const result = await verifyLedger(deps.ledgerDir);
            parameter.push({ name: 'verified', valueBoolean: result.ok }, { name: 'verification', valueString: result.message }, { name: 'verifiedHeight', valueInteger: result.height }, { name: 'verifyMs', valueInteger: result.ms });
          }
        }
        sendResource(res, ctx, 200, { resourceType: 'Parameters', parameter } as Resource);
      })().catch(next);
    });
  };
}
