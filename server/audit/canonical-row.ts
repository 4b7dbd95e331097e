/**
 * One row of the read-access log as anchored. The canonical encoding (what a leaf hashes) is the UTF-8 of
 * JSON.stringify of this array, in this order, with no whitespace:
 *
 *   [seq, at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height]
 *
 * seq, ledger_height: decimal strings; at: microseconds since 1970-01-01T00:00:00Z as a decimal string (the
 * column's full precision); resource_id, purpose: string or null; resource_ids: array of strings or null.
 * Each row's leaf is stored with it (migration 014): the read log encodes the tail here and the insert prepends
 * the seq it draws. Anchoring uses the stored leaves, audit:verify recomputes them here, and
 * test/audit/log-leaf.test.ts holds them equal.
 */
export interface LogRow {
  seq: string;
  at_us: string;
  username: string;
  agent: string;
  patient: string;
  resource_type: string;
  resource_id: string | null;
  resource_ids: string[] | null;
  action: string;
  purpose: string | null;
  ledger_height: string;
}

/** The SELECT list that reads a read_access_log row (alias `l`) as a LogRow. */
export const LOG_ROW_COLUMNS = `l.seq::text AS seq, ((extract(epoch FROM l.at) * 1000000)::bigint)::text AS at_us, l.username, l.agent, l.patient,
  l.resource_type, l.resource_id, l.resource_ids, l.action, l.purpose, l.ledger_height::text AS ledger_height`;

export function canonicalRow(row: LogRow): Buffer {
  return Buffer.from(`[${JSON.stringify(row.seq)},${canonicalTail(row)}`, 'utf8');
}

/** The canonical encoding after `[seq,`: what the read log computes before the database draws the row's seq. */
export function canonicalTail(row: Omit<LogRow, 'seq'>): string {
  return JSON.stringify([row.at_us, row.username, row.agent, row.patient, row.resource_type, row.resource_id ?? null, row.resource_ids ?? null, row.action, row.purpose ?? null, row.ledger_height]).slice(1);
}

export function atOf(row: Pick<LogRow, 'at_us'>): Date {
  return new Date(Number(BigInt(row.at_us) / 1000n));
}
