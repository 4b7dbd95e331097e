// npm run bench:read [-- --permissions 1000000 --documents 100000 --seconds 10 --warmup 3 --connections 32
//                        --concurrency 8 --database-url postgres://... --quick --keep --profile-server <dir> [--allocations]
//                        --server-node-args '--max-semi-space-size=32']
// npm run bench:read -- --remeasure <kept data dir>   (measures a ledger kept by --keep again, no population)
//
// A permitted practitioner's GET DocumentReference/<id> and GET DocumentReference?patient=<id> against, in the
// same run, a bare express endpoint that verifies the same token with jose (same key; signature, iss, aud, exp)
// and answers the same bytes. The reader is not the documents' author, so every read is decided by a ledger
// permission (in the projection), and every read is written to the read-access log, as in production.
//
// Processes: the devpeer, the FHIR server (Hospital A, started as `npm run node` starts it against a separate
// peer), the baseline server and the load generator each run on their own; this orchestrator populates the
// ledger (SubmitBatch through the gateway and the chaincode, `--concurrency` in flight) and collects figures.
// The load generator is node:http with a keep-alive agent in its own process: `--connections` connections in a
// closed loop (each sends its next request when the previous answer is read), a warm-up, then a timed window;
// one endpoint at a time, so the server under test shares neither an event loop nor, while measuring, a core
// with its client. (wrk is not packaged here and autocannon would add a dependency tree for the same loop.)
// Scale check: the FHIR reads are measured with 1,000 permissions / 100 documents on the ledger, then again
// after growing it to --permissions / --documents; `--quick` grows to 20,000 / 2,000. Each size is measured at rest:
// once the replica has caught up, a checkpoint and a sync write the population's dirty pages out first. Query plans of the
// statements one read and one search run are printed at the large scale. Last stdout line: one JSON object.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { announcedCa, spawnDevPeer, type DevPeerProcess } from '../devpeer/spawn.js';
import type { LedgerUser } from '../server/ledger/identity.js';
import { startChild, type ChildHandle } from './read/ipc.js';
import type { LoadResult } from './read/load.js';
import { populator, type PopulationTarget } from './read/populate.js';
import { createScenario, fhir, keptScenario, READER, type Scenario } from './read/scenario.js';
import { printTable, round } from './stats.js';

const SMALL: PopulationTarget = { permissions: 1_000, documents: 100 };
const TARGET_RATIO = 0.6;
const TARGET_P99_MS = 20;
const TARGET_SCALE = 0.9;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const num = (name: string, fallback: number) => (arg(name) === undefined ? fallback : Number(String(arg(name)).replace(/_/g, '')));

const quick = flag('quick');
const options = {
  permissions: num('permissions', quick ? 20_000 : 1_000_000),
  documents: num('documents', quick ? 2_000 : 100_000),
  seconds: num('seconds', quick ? 4 : 10),
  warmup: num('warmup', quick ? 1 : 3),
  connections: num('connections', 32),
  concurrency: num('concurrency', 8),
  databaseUrl: arg('database-url') ?? process.env.DATABASE_URL,
  keep: flag('keep'),
  remeasure: arg('remeasure'),
  /** write CPU profiles of the FHIR server process over each FHIR measurement here */
  profileDir: arg('profile-server'),
  /** with --profile-server: sampling heap profiles (what allocates) instead of CPU profiles */
  allocations: flag('allocations'),
};
const log = (m: string) => process.stderr.write(`[bench:read] ${m}\n`);
const load1 = () => round(os.loadavg()[0], 2);

interface Counts {
  permissions: number;
  documents: number;
  patients: number;
  replicaHeight: number;
  ledgerHeight: number;
}
interface ServerInfo {
  baseUrl: string;
  url: string;
  issuer: string;
  publicJwk: Record<string, unknown>;
  databaseKind: string;
}
type Measured = LoadResult & { load1: number };
interface MeasuredSet {
  baselineRead: Measured;
  baselineSearch: Measured;
  read: Measured;
  search: Measured;
}

/** Waits until the server's replica has applied every block up to `block`. */
async function waitForReplica(server: ChildHandle, block: number): Promise<Counts> {
  for (let polls = 1; ; polls++) {
    const c = await server.request<Counts>('counts');
    if (c.replicaHeight > block) return c;
    if (polls % 30 === 0) log(`  replica at block ${c.replicaHeight} of ${c.ledgerHeight}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * After a population, the database's dirty buffers and the kernel's dirty pages are written back later, on the
 * cores the measurement shares (the kernel within about 30 s, PostgreSQL at its next checkpoint). A checkpoint and a
 * sync write them now, at both sizes, so that each size is measured at rest and the scale ratio compares ledger
 * sizes rather than what a bulk load leaves behind.
 */
async function settle(server: ChildHandle): Promise<void> {
  const started = Date.now();
  const checkpointed = await server.request<boolean>('checkpoint');
  execFileSync('sync');
  log(`  settled in ${round((Date.now() - started) / 1000, 1)} s (${checkpointed ? 'checkpoint and sync' : 'sync; no right to CHECKPOINT'}; ${dirtyMb()} MB dirty in the page cache now)`);
}

const dirtyMb = () => {
  const meminfo = fs.existsSync('/proc/meminfo') ? fs.readFileSync('/proc/meminfo', 'utf8') : '';
  const kb = /^Dirty:\s+(\d+) kB/m.exec(meminfo)?.[1];
  return kb === undefined ? '?' : round(Number(kb) / 1024, 0);
};

/** The four measurements of one ledger size, one endpoint at a time; the baseline starts on first use. */
function measurer(server: ChildHandle, info: ServerInfo, scenario: Scenario, children: ChildHandle[]) {
  let load: ChildHandle | undefined;
  let baselineUrl: string | undefined;
  const measure = async (base: string, p: string, label: string): Promise<Measured> => {
    const token = await server.request<string>('token', { username: READER });
    const profiling = options.profileDir !== undefined && base === info.url;
    if (profiling) await server.request('profile', { on: true, allocations: options.allocations });
    const watching = base === info.url;
    if (watching) await server.request('watch', { on: true });
    const r = await load!.request<LoadResult>('run', { url: `${base}${p}`, token, connections: options.connections, warmupSeconds: options.warmup, seconds: options.seconds });
    if (profiling) {
      fs.mkdirSync(options.profileDir!, { recursive: true });
      log(`  profile: ${await server.request<string>('profile', { on: false, allocations: options.allocations, file: path.resolve(options.profileDir!, `${label.replace(/\W+/g, '-')}-${Date.now()}.${options.allocations ? 'heapprofile' : 'cpuprofile'}`) })}`);
    }
    if (watching) log(`  ${label}: server during the window ${JSON.stringify(await server.request('watch', { on: false }))}`);
    if (r.errors > 0) throw new Error(`${label}: ${r.errors} failed requests (${r.firstError})`);
    log(`  ${label}: ${round(r.rps, 0)} req/s, p50 ${round(r.p50Ms)} ms, p99 ${round(r.p99Ms)} ms`);
    return { ...r, load1: load1() };
  };
  return {
    async all(): Promise<MeasuredSet> {
      if (!load) {
        load = await startChild('load.ts');
        children.push(load);
        // the baseline answers exactly the bytes the FHIR server answered
        const token = await server.request<string>('token', { username: READER });
        const bodies = { [scenario.readPath]: await fhir(info.url, token, 'GET', scenario.readPath.slice(1)), [scenario.searchPath]: await fhir(info.url, token, 'GET', scenario.searchPath.slice(1)) };
        const baseline = await startChild('baseline.ts');
        children.push(baseline);
        baselineUrl = (await baseline.request<{ url: string }>('start', { issuer: info.issuer, publicJwk: info.publicJwk, bodies })).url;
      }
      return {
        baselineRead: await measure(baselineUrl!, scenario.readPath, 'baseline read'),
        baselineSearch: await measure(baselineUrl!, scenario.searchPath, 'baseline search'),
        read: await measure(info.url, scenario.readPath, 'FHIR read'),
        search: await measure(info.url, scenario.searchPath, 'FHIR search'),
      };
    },
    /** EXPLAIN ANALYZE of the statements one read and one search run */
    async plans() {
      const token = await server.request<string>('token', { username: READER }); // tokens live an hour; populating may take longer
      await server.request('capture', { on: true });
      await fhir(info.url, token, 'GET', scenario.readPath.slice(1));
      await fhir(info.url, token, 'GET', scenario.searchPath.slice(1));
      const statements = await server.request<{ sql: string; params: unknown[] }[]>('capture', { on: false });
      const distinct = [...new Map(statements.map((st) => [st.sql, st])).values()];
      const plans = await server.request<{ sql: string; plan: string }[]>('explain', { statements: distinct });
      for (const p of plans) log(`plan for: ${p.sql}\n${p.plan}\n`);
      // a warm request (the same one again, nothing changed) should cost the database only its read-log row
      await server.request('capture', { on: true });
      await fhir(info.url, token, 'GET', scenario.readPath.slice(1));
      await fhir(info.url, token, 'GET', scenario.searchPath.slice(1));
      const warm = await server.request<{ sql: string }[]>('capture', { on: false });
      log(`statements of a warm read and a warm search: ${warm.length}${warm.map((w) => `\n  ${w.sql.replace(/\s+/g, ' ').slice(0, 160)}`).join('')}`);
      // tables that grow with the ledger (PostgreSQL rightly scans the benchmark's tiny users table)
      return plans.filter((p) => /Seq Scan on ledger_\w+/.test(p.plan)).map((p) => p.sql);
    },
  };
}

const figuresOf = (m: MeasuredSet, scale: string) =>
  Object.fromEntries(Object.entries(m).map(([k, r]) => [`${k}_${scale}`, { rps: round(r.rps, 0), p50_ms: round(r.p50Ms), p99_ms: round(r.p99Ms), load1: r.load1 }]));
const rowsOf = (m: MeasuredSet, scale: string) => {
  const row = (label: string, r: LoadResult, base: LoadResult) => ({ endpoint: `${label} (${scale})`, 'req/s': round(r.rps, 0), 'p50 ms': round(r.p50Ms), 'p99 ms': round(r.p99Ms), '÷ baseline': round(r.rps / base.rps, 3) });
  return [row('baseline read', m.baselineRead, m.baselineRead), row('baseline search', m.baselineSearch, m.baselineSearch), row('FHIR read', m.read, m.baselineRead), row('FHIR search', m.search, m.baselineSearch)];
};

async function main() {
  const dataDir = options.remeasure ? path.resolve(options.remeasure) : fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-bench-read-'));
  const keep = options.keep || options.remeasure !== undefined;
  log(`data in ${dataDir}; ${options.remeasure ? 'measuring the kept ledger' : `target ${options.permissions} permissions, ${options.documents} documents`}; database ${options.databaseUrl ? 'PostgreSQL' : 'PGlite'}`);
  const peer: DevPeerProcess = await spawnDevPeer({ dataDir: path.join(dataDir, 'peer') });
  const org = peer.info.orgs.find((o) => o.mspId === 'HospitalAMSP')!;
  const server = await startChild('server.ts', { BENCH_PEER: JSON.stringify(peer.info), BENCH_DATA_DIR: path.join(dataDir, 'node'), BENCH_DATABASE_URL: options.databaseUrl ?? '' }, (arg('server-node-args') ?? '').split(' ').filter(Boolean));
  const children: ChildHandle[] = [server];
  try {
    const info = await server.request<ServerInfo>('info');
    const header = () => console.log(`\nbench:read on ${os.cpus().length} cores, ${info.databaseKind}, ${options.connections} connections, ${options.seconds} s per endpoint`);
    if (options.remeasure) {
      const scenario = keptScenario(dataDir);
      if (!scenario) throw new Error(`${dataDir} holds no bench.json: not a data dir kept by bench:read --keep`);
      const counts = await waitForReplica(server, (await server.request<Counts>('counts')).ledgerHeight - 1);
      await server.request('analyze');
      const m = measurer(server, info, scenario, children);
      const measured = await m.all();
      const seqScans = await m.plans();
      header();
      console.log(`ledger: ${counts.permissions} permissions, ${counts.documents} documents`);
      printTable(rowsOf(measured, 'kept'));
      console.log(JSON.stringify({ bench: 'read', mode: 'remeasure', cores: os.cpus().length, database: info.databaseKind, connections: options.connections, seconds: options.seconds, ledger: { permissions: counts.permissions, documents: counts.documents }, ...figuresOf(measured, 'kept'), read_vs_baseline: round(measured.read.rps / measured.baselineRead.rps, 3), search_vs_baseline: round(measured.search.rps / measured.baselineSearch.rps, 3), read_p99_vs_baseline: round(measured.read.p99Ms / measured.baselineRead.p99Ms, 3), search_p99_vs_baseline: round(measured.search.p99Ms / measured.baselineSearch.p99Ms, 3), seq_scans: seqScans, load_average: os.loadavg().map((l) => round(l, 2)) }));
      return;
    }

    const scenario = await createScenario(server, info.baseUrl, dataDir);
    const admin: LedgerUser = { mspId: org.mspId, certPem: fs.readFileSync(org.adminCert, 'utf8'), privateKey: fs.readFileSync(org.adminKey, 'utf8') };
    const pop = populator({ endpoint: peer.info.endpoint, channel: peer.info.channel, chaincode: peer.info.chaincode, ca: announcedCa(org), admin, hot: `HospitalAMSP/Practitioner/${READER}`, concurrency: options.concurrency });
    const grow = async (target: PopulationTarget) => {
      log(`population to ${target.permissions} permissions / ${target.documents} documents (${options.concurrency} transactions in flight)`);
      const started = Date.now();
      await pop.grow(target, (w) => {
        const s = (Date.now() - started) / 1000;
        log(`  ${w.permissions} permissions, ${w.documents} documents, ${w.transactions} transactions (${round((w.permissions + w.documents) / s, 0)} operations/s so far; load ${load1()})`);
      });
      const committedSeconds = (Date.now() - started) / 1000;
      const counts = await waitForReplica(server, pop.written.lastBlock);
      // PostgreSQL's autovacuum would analyze the grown tables; PGlite runs no autovacuum
      await server.request('analyze');
      const totalSeconds = (Date.now() - started) / 1000;
      log(`ledger: ${counts.permissions} permissions, ${counts.documents} documents, block ${counts.replicaHeight}; ${round(committedSeconds, 0)} s to commit, ${round(totalSeconds, 0)} s until the replica caught up`);
      await settle(server);
      return { counts, committedSeconds, totalSeconds };
    };
    const m = measurer(server, info, scenario, children);

    const small = await grow(SMALL);
    log('measuring at the small scale');
    const atSmall = await m.all();
    const big = await grow({ permissions: options.permissions, documents: options.documents });
    pop.close();
    log('measuring at the large scale');
    const atBig = await m.all();
    const seqScans = await m.plans();

    header();
    console.log(`small: ${small.counts.permissions} permissions, ${small.counts.documents} documents; large: ${big.counts.permissions} permissions, ${big.counts.documents} documents`);
    printTable([...rowsOf(atSmall, 'small'), ...rowsOf(atBig, 'large')]);
    const vs = (r: LoadResult, base: LoadResult) => round(r.rps / base.rps, 3);
    const p99vs = (r: LoadResult, base: LoadResult) => round(r.p99Ms / base.p99Ms, 3);
    const figures = {
      bench: 'read',
      cores: os.cpus().length,
      database: info.databaseKind,
      connections: options.connections,
      seconds: options.seconds,
      small: { permissions: small.counts.permissions, documents: small.counts.documents },
      large: { permissions: big.counts.permissions, documents: big.counts.documents, populate_seconds: round(big.totalSeconds, 0), commit_seconds: round(big.committedSeconds, 0), operations_per_s: round((big.counts.permissions + big.counts.documents - small.counts.permissions - small.counts.documents) / big.totalSeconds, 0) },
      ...figuresOf(atSmall, 'small'),
      ...figuresOf(atBig, 'large'),
      read_vs_baseline_small: vs(atSmall.read, atSmall.baselineRead),
      search_vs_baseline_small: vs(atSmall.search, atSmall.baselineSearch),
      read_vs_baseline_large: vs(atBig.read, atBig.baselineRead),
      search_vs_baseline_large: vs(atBig.search, atBig.baselineSearch),
      read_scale_ratio: round(atBig.read.rps / atSmall.read.rps, 3),
      search_scale_ratio: round(atBig.search.rps / atSmall.search.rps, 3),
      // the same ratios with each size's throughput taken relative to the baseline measured beside it: the
      // machine's load can change a lot during a long population, and this cancels what it does to both
      read_scale_ratio_vs_baseline: round(vs(atBig.read, atBig.baselineRead) / vs(atSmall.read, atSmall.baselineRead), 3),
      search_scale_ratio_vs_baseline: round(vs(atBig.search, atBig.baselineSearch) / vs(atSmall.search, atSmall.baselineSearch), 3),
      // the tail against the bare endpoint's in the same window: on a slow host even the baseline misses 20 ms
      read_p99_vs_baseline_small: p99vs(atSmall.read, atSmall.baselineRead),
      search_p99_vs_baseline_small: p99vs(atSmall.search, atSmall.baselineSearch),
      read_p99_vs_baseline_large: p99vs(atBig.read, atBig.baselineRead),
      search_p99_vs_baseline_large: p99vs(atBig.search, atBig.baselineSearch),
      seq_scans_at_large: seqScans,
    };
    const meets = {
      throughput_vs_baseline: Math.min(figures.read_vs_baseline_large, figures.search_vs_baseline_large, figures.read_vs_baseline_small, figures.search_vs_baseline_small) >= TARGET_RATIO,
      p99_under_20ms: Math.max(atSmall.read.p99Ms, atSmall.search.p99Ms, atBig.read.p99Ms, atBig.search.p99Ms) <= TARGET_P99_MS,
      scale: Math.min(figures.read_scale_ratio, figures.search_scale_ratio, figures.read_scale_ratio_vs_baseline, figures.search_scale_ratio_vs_baseline) >= TARGET_SCALE,
      full_size: big.counts.permissions >= 1_000_000 && big.counts.documents >= 100_000,
    };
    const baselineP99 = [atSmall.baselineRead, atSmall.baselineSearch, atBig.baselineRead, atBig.baselineSearch].map((r) => r.p99Ms);
    console.log(`targets: ≥ ${TARGET_RATIO}× baseline: ${meets.throughput_vs_baseline}; p99 ≤ ${TARGET_P99_MS} ms: ${meets.p99_under_20ms} (the baseline's own p99: ${round(Math.min(...baselineP99), 1)}–${round(Math.max(...baselineP99), 1)} ms); large ≥ ${TARGET_SCALE}× small: ${meets.scale}; at 1M/100k: ${meets.full_size}`);
    console.log(JSON.stringify({ ...figures, meets, load_average: os.loadavg().map((l) => round(l, 2)) }));
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await peer.stop();
    if (keep) log(`kept ${dataDir} (measure it again: npm run bench:read -- --remeasure ${dataDir})`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
