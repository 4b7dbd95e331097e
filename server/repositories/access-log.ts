import { arrayLiteral } from '../db/array-literal.js';
import type { Database } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { canonicalTail } from '../audit/canonical-row.js';

type ReadAction = 'read' | 'vread' | 'search' | 'download';

export interface ReadEntry {
  patient: string;
  resourceType: string;
  resourceId: string;
  action: ReadAction;
}

/** A search that served one patient's resources: one entry naming all of them. */
export interface SearchEntry {
  patient: string;
  resourceType: string;
  resourceIds: string[];
}

interface Row {
  at: Date;
  username: string;
  agent: string;
  patient: string;
  resourceType: string;
  resourceId: string | null;
  resourceIds: string[] | null;
  action: ReadAction;
  purpose: string;
  height: number;
}

// resource_ids travel as one array literal per row (arrayLiteral). Each row's Merkle leaf (server/audit/canonical-row.ts)
// is stored with it: the server encodes everything after the seq ($11), the statement draws the seq and prepends it.
const INSERT = `INSERT INTO read_access_log (seq, at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height, leaf)
  SELECT seq, at, username, agent, patient, resource_type, resource_id, ids::text[], action, purpose, ledger_height,
    sha256('\\x00'::bytea || convert_to('["' || seq::text || '",' || tail, 'UTF8'))
  FROM (SELECT nextval('read_access_log_seq_seq') AS seq, x.*
        FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])
          AS x(at, username, agent, patient, resource_type, resource_id, ids, action, purpose, ledger_height, tail)
        OFFSET 0) drawn`;

// a read by a practitioner who holds a break-glass permission for the patient at that instant is logged with purpose ETREAT
const EMERGENCY_PERMISSIONS = `SELECT patient, valid_from, valid_to FROM ledger_permissions
  WHERE grantee_kind = 'practitioner' AND grantee_id = $1 AND emergency AND status = 'active'`;

interface EmergencyWindow {
  patient: string;
  from: number;
  to: number;
}

/**
 * The hospital's read-access log (accounting of disclosures), written with group commit: reads that arrive
 * in the same turn of the event loop, or while a write is in flight, go out together in one statement. Every caller
 * waits until its rows are committed, so nothing is served that is not logged; a failed write fails every read
 * waiting on it. When reads are arriving together (the last statement carried several requests' rows), a statement
 * waits for more as long as each turn of the event loop brings some, up to FULL_ROWS or LINGER_MS: on PGlite a
 * statement costs about as much as five rows. A lone read never waits, nor does a batch once every client is waiting.
 */
const LINGER_MS = 1;
const FULL_ROWS = 32;

class ReadLog {
  private queue: { rows: Row[]; done: (err?: unknown) => void }[] = [];
  private queuedRows = 0;
  private writing = false;
  private lastStatementReads = 0;

  constructor(private readonly db: Database) {}

  record(rows: Row[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.queuedRows += rows.length;
      if (!this.writing) {
        this.writing = true;
        setImmediate(() => void this.drain()); // after this turn's I/O: every request that arrived with it joins
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.lastStatementReads > 1) await this.gather();
      const batch = this.queue;
      this.queue = [];
      this.queuedRows = 0;
      const rows = batch.flatMap((b) => b.rows);
      try {
        await this.markEmergencyReads(rows);
      } catch (err) {
        for (const b of batch) b.done(err);
        continue;
      }
      this.lastStatementReads = batch.length;
      const column = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
      try {
        await this.db.query(INSERT, [
          column('at'),
          column('username'),
          column('agent'),
          column('patient'),
          column('resourceType'),
          column('resourceId'),
          rows.map((r) => arrayLiteral(r.resourceIds)),
          column('action'),
          column('purpose'),
          column('height'),
          rows.map(leafTail),
        ]);
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
      await new Promise((r) => setImmediate(r));
    }
    this.writing = false;
  }

  private async gather(): Promise<void> {
    const until = performance.now() + LINGER_MS;
    while (this.queuedRows < FULL_ROWS && performance.now() < until) {
      const before = this.queuedRows;
      await new Promise((r) => setImmediate(r));
      if (this.queuedRows === before) return;
    }
  }

  /** ETREAT for rows read under a break-glass permission (few practitioners hold one; cached until the ledger replica changes). */
  private async markEmergencyReads(rows: Row[]): Promise<void> {
    const windows = new Map<string, EmergencyWindow[]>();
    for (const agent of new Set(rows.map((r) => r.agent))) windows.set(agent, await this.emergencyWindows(agent));
    for (const r of rows) {
      const at = r.at.getTime();
      if (windows.get(r.agent)!.some((w) => w.patient === r.patient && w.from <= at && at < w.to)) r.purpose = 'ETREAT';
    }
  }

  private emergencyWindows(agent: string): Promise<EmergencyWindow[]> {
    return this.db.cache.get(`read-log emergency ${agent}`, async () => {
      const { rows } = await this.db.query<{ patient: string; valid_from: Date | string; valid_to: Date | string }>(EMERGENCY_PERMISSIONS, [agent]);
      const value = rows.map((p) => ({ patient: p.patient, from: new Date(p.valid_from).getTime(), to: new Date(p.valid_to).getTime() }));
      return { value, validUntilMs: Infinity }; // windows are compared with each row's instant; a new or changed permission moves the epoch
    });
  }
}

const logs = new WeakMap<Database, ReadLog>();

function logOf(db: Database): ReadLog {
  let log = logs.get(db);
  if (!log) logs.set(db, (log = new ReadLog(db)));
  return log;
}

function leafTail(r: Row): string {
  return canonicalTail({
    at_us: String(BigInt(r.at.getTime()) * 1000n),
    username: r.username,
    agent: r.agent,
    patient: r.patient,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    resource_ids: r.resourceIds,
    action: r.action,
    purpose: r.purpose,
    ledger_height: String(r.height),
  });
}

// what the database will store: a lone surrogate cannot be UTF-8, and is written as U+FFFD (the leaf must say the same)
const wellFormed = (s: string) => (/[\uD800-\uDFFF]/.test(s) ? Buffer.from(s, 'utf8').toString('utf8') : s);

function row(ctx: RequestContext, patient: string, resourceType: string, action: ReadAction, ids: { resourceId?: string; resourceIds?: string[] }): Row {
  return {
    at: new Date(), // when served (a create answers with the document after its commit, later than ctx.now)
    username: wellFormed(ctx.caller.username),
    agent: wellFormed(ctx.caller.ledgerId),
    patient: wellFormed(patient),
    resourceType,
    resourceId: ids.resourceId === undefined ? null : wellFormed(ids.resourceId),
    resourceIds: ids.resourceIds?.map(wellFormed) ?? null,
    action,
    purpose: 'TREAT',
    height: ctx.ledgerHeight ?? 0,
  };
}

/** Logs reads of a patient's data served to `ctx`'s caller; resolves once they are durable. */
export function logReads(db: Database, ctx: RequestContext, entries: ReadEntry[]): Promise<void> {
  return logOf(db).record(entries.map((e) => row(ctx, e.patient, e.resourceType, e.action, { resourceId: e.resourceId })));
}

/** Logs what a search served: one entry per patient, naming every resource of theirs on the page. */
export function logSearch(db: Database, ctx: RequestContext, resourceType: string, served: { patient: string; id: string }[]): Promise<void> {
  const byPatient = new Map<string, string[]>();
  for (const s of served) byPatient.set(s.patient, [...(byPatient.get(s.patient) ?? []), s.id]);
  return logOf(db).record([...byPatient].map(([patient, ids]) => row(ctx, patient, resourceType, 'search', { resourceIds: ids })));
}

export function logRead(db: Database, ctx: RequestContext, entry: ReadEntry): Promise<void> {
  return logReads(db, ctx, [entry]);
}
