// bench:read's FHIR server process: one hospital node (Hospital A) exactly as `npm run node` runs it against
// a separate peer (ledger mode "fabric"), plus a control channel for the orchestrator: enrollment, tokens,
// ledger counts, and the query plans of the statements a request runs.
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type NodeGCPerformanceDetail } from 'node:perf_hooks';
import { announcedCa, type DevPeerAnnouncement } from '../../devpeer/spawn.js';
import type { LedgerConfig } from '../../server/ledger/config.js';
import { startHospitalNode } from '../../server/node.js';
import { serve } from './ipc.js';

const MSP = 'HospitalAMSP';
const NPIS = ['1234567893', '1245319599', '1679576722'];
const peer = JSON.parse(process.env.BENCH_PEER ?? '') as DevPeerAnnouncement;
const org = peer.orgs.find((o) => o.mspId === MSP)!;
const dataDir = process.env.BENCH_DATA_DIR ?? '';
const ledger: LedgerConfig = {
  mode: 'fabric',
  endpoint: peer.endpoint,
  serviceIdentity: { mspId: MSP, certPem: fs.readFileSync(org.adminCert, 'utf8'), keyPem: fs.readFileSync(org.adminKey, 'utf8') },
  channel: peer.channel,
  chaincode: peer.chaincode,
  maxLagBlocks: 10,
  maxLagMs: 5_000,
};
const ca = announcedCa(org);
const node = await startHospitalNode({
  name: 'hospitala',
  mspId: MSP,
  port: 0,
  dataDir,
  databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
  ledger,
  ca: { certPem: ca.certPem, keyPem: ca.keyPem },
  log: (m) => process.stderr.write(`[server] ${m}\n`),
});

interface Statement {
  sql: string;
  params: unknown[];
}
let captured: Statement[] | undefined;
let profiler: inspector.Session | undefined;

/** What held the server up during a measurement window: event-loop delay, garbage collection, slow statements. */
interface Watch {
  delay: IntervalHistogram;
  gc: PerformanceObserver;
  gcPauses: { kind: number; ms: number }[];
  slow: { sql: string; ms: number }[];
  wal?: WalPosition;
  epoch: number;
}
interface WalPosition {
  redo: string;
  lsn: string;
}
// where the write-ahead log is, and the last checkpoint's redo point (PGlite checkpoints inside a statement)
const walPosition = async (): Promise<WalPosition | undefined> =>
  query<WalPosition>('SELECT redo_lsn::text AS redo, pg_current_wal_lsn()::text AS lsn FROM pg_control_checkpoint()').then(
    (r) => r.rows[0],
    () => undefined, // a PostgreSQL role without the right to read the control file
  );
const walBytes = async (from: string, to: string) => Number((await query<{ n: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS n', [to, from])).rows[0].n);
let watch: Watch | undefined;
const SLOW_STATEMENT_MS = 5;

const query = node.db.query.bind(node.db);
node.db.query = (async (sql: string, params?: unknown[]) => {
  captured?.push({ sql, params: params ?? [] });
  if (!watch) return query(sql, params);
  const started = performance.now();
  try {
    return await query(sql, params);
  } finally {
    const ms = performance.now() - started;
    if (ms >= SLOW_STATEMENT_MS) watch?.slow.push({ sql: sql.replace(/\s+/g, ' ').trim().slice(0, 120), ms });
  }
}) as typeof node.db.query;

serve({
  async info() {
    const jwk = JSON.parse(fs.readFileSync(`${dataDir}/hospitala/keys/token-signing.jwk.json`, 'utf8')) as Record<string, unknown>;
    delete jwk.d;
    return { baseUrl: node.baseUrl, url: node.url, issuer: node.tokens.issuer, publicJwk: jwk, databaseKind: node.db.kind };
  },
  /** the benchmark's own people: one patient, the practitioner who reads, and colleagues the patient also trusts */
  async enroll(args: { practitioners: string[] }) {
    const patient = await node.enrollment.enrollPatient({ username: 'bench-patient', password: 'pw', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' });
    for (const [i, id] of args.practitioners.entries()) {
      await node.enrollment.enrollPractitioner({ username: id, password: 'pw', id, given: 'Bench', family: id, npi: NPIS[i % NPIS.length] });
    }
    return { patientId: patient.patientId, pseudonym: patient.pseudonym };
  },
  async token(args: { username: string }) {
    return node.tokenFor(args.username);
  },
  async counts() {
    const n = async (table: string) => Number((await query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${table}`)).rows[0].n);
    const projection = node.ledger.client.projection;
    return { permissions: await n('ledger_permissions'), documents: await n('ledger_documents'), patients: await n('ledger_patients'), replicaHeight: projection.height(), ledgerHeight: projection.ledgerHeight() };
  },
  async capture(args: { on: boolean }) {
    const out = captured ?? [];
    captured = args.on ? [] : undefined;
    return out;
  },
  /** EXPLAIN ANALYZE of each captured query, with the parameters it ran with (a read's log row is written again) */
  async explain(args: { statements: Statement[] }) {
    const plans: { sql: string; plan: string }[] = [];
    for (const s of args.statements) {
      if (!/^\s*(SELECT|WITH)/i.test(s.sql)) continue;
      const { rows } = await query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.params);
      plans.push({ sql: s.sql.replace(/\s+/g, ' ').trim(), plan: rows.map((r) => Object.values(r)[0]).join('\n') });
    }
    return plans;
  },
  /** a CPU profile (or, `allocations`, a sampling heap profile) of this process over a measurement window */
  async profile(args: { on: boolean; file?: string; allocations?: boolean }) {
    profiler ??= new inspector.Session();
    if (args.on) {
      profiler.connect();
      if (args.allocations) {
        await profiler.post('HeapProfiler.enable');
        // what the young generation collects counts too: short-lived garbage is what makes scavenges frequent
        await profiler.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
      } else {
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
      }
      return null;
    }
    const { profile } = args.allocations ? await profiler.post('HeapProfiler.stopSampling') : await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    fs.writeFileSync(args.file!, JSON.stringify(profile));
    return args.file;
  },
  /** on: starts watching; off: what held the server up since (bench:read logs it beside each FHIR figure) */
  async watch(args: { on: boolean }) {
    const was = watch;
    if (was) {
      was.delay.disable();
      was.gc.disconnect();
      watch = undefined;
    }
    if (args.on) {
      const delay = monitorEventLoopDelay({ resolution: 1 });
      const gcPauses: Watch['gcPauses'] = [];
      const gc = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gcPauses.push({ kind: ((e as unknown as { detail?: NodeGCPerformanceDetail }).detail?.kind ?? 0), ms: e.duration });
      });
      gc.observe({ entryTypes: ['gc'] });
      delay.enable();
      watch = { delay, gc, gcPauses, slow: [], wal: await walPosition(), epoch: await node.db.changes.epoch() };
      return null;
    }
    if (!was) return null;
    const wal = await walPosition();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const byStatement = new Map<string, { n: number; totalMs: number; maxMs: number }>();
    for (const s of was.slow) {
      const e = byStatement.get(s.sql) ?? { n: 0, totalMs: 0, maxMs: 0 };
      e.n++;
      e.totalMs += s.ms;
      e.maxMs = Math.max(e.maxMs, s.ms);
      byStatement.set(s.sql, e);
    }
    // V8's gc kinds: 1 scavenge, 2 mark-compact, 4 incremental marking, 8 weak callbacks
    const gcOf = (kind: number) => was.gcPauses.filter((g) => g.kind === kind);
    const summary = (list: { ms: number }[]) => ({ n: list.length, total_ms: Math.round(list.reduce((t, g) => t + g.ms, 0)), max_ms: Math.round(Math.max(0, ...list.map((g) => g.ms)) * 10) / 10 });
    return {
      loop_delay_ms: { p50: ms(was.delay.percentile(50)), p99: ms(was.delay.percentile(99)), max: ms(was.delay.max) },
      gc_scavenge: summary(gcOf(1)),
      gc_mark_compact: summary(gcOf(2)),
      slow_statements: [...byStatement.entries()].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, 6).map(([sql, e]) => ({ sql, n: e.n, total_ms: Math.round(e.totalMs), max_ms: Math.round(e.maxMs) })),
      ...(was.wal && wal ? { wal_mb: Math.round((await walBytes(was.wal.lsn, wal.lsn)) / 2 ** 20), checkpoint: wal.redo !== was.wal.redo } : {}),
      // how often a write dropped every cached read during the window (a block that changes nothing cached should not)
      cache_epoch_moves: (await node.db.changes.epoch()) - was.epoch,
      heap_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
  },
  async analyze() {
    for (const table of ['ledger_permissions', 'ledger_documents', 'ledger_patients', 'patient_pseudonyms', 'users']) await query(`ANALYZE ${table}`);
    return null;
  },
  /** writes the population's dirty buffers out now, as a periodic checkpoint would, rather than inside a measurement */
  async checkpoint() {
    try {
      await query('CHECKPOINT');
      return true;
    } catch {
      return false; // a PostgreSQL role without pg_checkpoint: its own checkpointer does it in time
    }
  },
});

process.once('SIGTERM', () => {
  void node.stop().finally(() => process.exit(0));
});
