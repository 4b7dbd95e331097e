import type { ConsentContext } from './context.js';
import { denied, invalid, notFound } from './errors.js';
import type { AuditAnchor } from './records.js';
import * as v from './validate.js';

/**
 * Anchors a batch of the hospital's read-access log: the admin's MSP, sequence = previous + 1 (from 1).
 * Key audit/<msp>/<sequence>; the sequence chain is checked by the predecessor's existence.
 */
export async function anchorAudit(ctx: ConsentContext, anchorJson: string): Promise<AuditAnchor> {
  const input = v.objectArg(anchorJson, 'audit anchor', ['sequence', 'merkleRoot', 'count', 'fromTime', 'toTime']);
  const caller = ctx.caller;
  if (caller.role !== 'admin') throw denied('only an admin may anchor audit logs');
  const anchor: AuditAnchor = {
    msp: caller.mspId,
    sequence: v.count(input.sequence, 'sequence', 1),
    merkleRoot: v.hex64(input.merkleRoot, 'merkleRoot'),
    count: v.count(input.count, 'count'),
    fromTime: v.instant(input.fromTime, 'fromTime'),
    toTime: v.instant(input.toTime, 'toTime'),
  };
  if (anchor.fromTime > anchor.toTime) throw invalid('fromTime must not be after toTime');
  if (await ctx.store.get('audit', [anchor.msp, String(anchor.sequence)])) {
    throw invalid(`audit anchor ${anchor.msp}/${anchor.sequence} already exists`);
  }
  if (anchor.sequence > 1 && !(await ctx.store.get('audit', [anchor.msp, String(anchor.sequence - 1)]))) {
    throw invalid(`audit anchor ${anchor.sequence} must follow ${anchor.sequence - 1}, which does not exist`);
  }
  await ctx.store.put('audit', [anchor.msp, String(anchor.sequence)], anchor);
  ctx.emit('AuditAnchored', { anchor });
  return anchor;
}

export async function getAuditAnchor(ctx: ConsentContext, msp: string, sequence: string): Promise<AuditAnchor> {
  v.mspId(msp, 'msp');
  if (!/^[1-9]\d{0,15}$/.test(sequence)) throw invalid('sequence must be a positive integer');
  const anchor = await ctx.store.get<AuditAnchor>('audit', [msp, sequence]);
  if (!anchor) throw notFound(`audit anchor ${msp}/${sequence}`);
  return anchor;
}
