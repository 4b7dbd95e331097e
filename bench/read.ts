// npm run bench:read [-- --permissions 1000000 --documents 100000 --seconds 10 --warmup 3 --connections 32
//                        --concurrency 8 --database-url postgres://... --quick --keep --profile-server <dir>]
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
// after growing it to --permissions / --documents; `--quick` grows to 20,000 / 2,000. Query plans of the
// statements one read and one search run are printed at the large scale. Last stdout line: one JSON object.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { announcedCa, spawnDevPeer } from '../devpeer/spawn.js';
import type { LedgerUser } from '../server/ledger/identity.js';
import { startChild, type ChildHandle } from './read/ipc.js';
import type { LoadResult } from './read/load.js';
import { populator, type PopulationTarget } from './read/populate.js';
import { printTable, round } from './stats.js';

const SMALL: PopulationTarget = { permissions: 1_000, documents: 100 };
const TARGET_RATIO = 0.6;
const TARGET_P99_MS = 20;
const TARGET_SCALE = 0.9;
const CATEGORY_SYSTEM = 'http://consentry.example/fhir/CodeSystem/data-category';
const BENCH_DOCUMENTS = 10;
/** the permitted practitioner whose reads are measured */
const READER = 'kim';

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
  /** write CPU profiles of the FHIR server process over each FHIR measurement here */
  profileDir: arg('profile-server'),
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

async function fhir(base: string, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${base}/${p}`, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...(body ? { 'content-type': 'application/fhir+json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}

function consent(patientId: string, actor: string, categories: string[], actions: string[]) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 365 * 86_400_000).toISOString() },
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }],
      action: actions.map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] })),
      code: categories.map((code) => ({ coding: [{ system: CATEGORY_SYSTEM, code }] })),
    },
  };
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

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-bench-read-'));
  log(`data in ${dataDir}; target ${options.permissions} permissions, ${options.documents} documents; database ${options.databaseUrl ? 'PostgreSQL' : 'PGlite'}`);
  const peer = await spawnDevPeer({ dataDir: path.join(dataDir, 'peer') });
  const org = peer.info.orgs.find((o) => o.mspId === 'HospitalAMSP')!;
  const server = await startChild('server.ts', { BENCH_PEER: JSON.stringify(peer.info), BENCH_DATA_DIR: path.join(dataDir, 'node'), BENCH_DATABASE_URL: options.databaseUrl ?? '' });
  const children: ChildHandle[] = [server];
  try {
    const info = await server.request<{ baseUrl: string; url: string; issuer: string; publicJwk: Record<string, unknown>; databaseKind: string }>('info');
    const people = await server.request<{ patientId: string; pseudonym: string }>('enroll', { practitioners: ['ryu', 'park', 'kim'] });
    const patientToken = await server.request<string>('token', { username: 'bench-patient' });
    const ryuToken = await server.request<string>('token', { username: 'ryu' });
    // The patient trusts Dr. Ryu (who writes her records) with everything shareable, Dr. Kim (the reader
    // measured here, not the author, so every read is decided by a permission) with her labs and imaging,
    // and Dr. Park with imaging only.
    await fhir(info.baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, 'Practitioner/ryu', ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'], ['access', 'correct']));
    await fhir(info.baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, `Practitioner/${READER}`, ['lab-results', 'imaging'], ['access']));
    await fhir(info.baseUrl, patientToken, 'POST', 'Consent', consent(people.patientId, 'Practitioner/park', ['imaging'], ['access']));
    const readerToken = await server.request<string>('token', { username: READER });
    const entry = Array.from({ length: BENCH_DOCUMENTS }, (_, i) => ({
      resource: {
        resourceType: 'DocumentReference',
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
        category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'lab-results' }] }],
        subject: { reference: `Patient/${people.patientId}` },
        content: [{ attachment: { contentType: 'application/fhir+json', data: Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', id: `labs-${i}` })).toString('base64') } }],
      },
      request: { method: 'POST', url: 'DocumentReference' },
    }));
    const tx = JSON.parse(await fhir(info.baseUrl, ryuToken, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry })) as { entry: { resource: { id: string } }[] };
    const documentId = tx.entry[0].resource.id;
    const readPath = `/fhir/DocumentReference/${documentId}`;
    const searchPath = `/fhir/DocumentReference?patient=${people.patientId}`;

    const admin: LedgerUser = { mspId: org.mspId, certPem: fs.readFileSync(org.adminCert, 'utf8'), privateKey: fs.readFileSync(org.adminKey, 'utf8') };
    const pop = populator({ endpoint: peer.info.endpoint, channel: peer.info.channel, chaincode: peer.info.chaincode, ca: announcedCa(org), admin, hot: `HospitalAMSP/Practitioner/${READER}`, concurrency: options.concurrency });

    const grow = async (target: PopulationTarget) => {
      const started = Date.now();
      await pop.grow(target, (w) => {
        const s = (Date.now() - started) / 1000;
        log(`  ${w.permissions} permissions, ${w.documents} documents, ${w.transactions} transactions (${round((w.permissions + w.documents) / s, 0)} operations/s so far; load ${load1()})`);
      });
      const committedSeconds = (Date.now() - started) / 1000;
      const counts = await waitForReplica(server, pop.written.lastBlock);
      await server.request('analyze');
      return { counts, committedSeconds, totalSeconds: (Date.now() - started) / 1000 };
    };

    const load = await startChild('load.ts');
    children.push(load);
    const measure = async (base: string, p: string, label: string): Promise<LoadResult & { load1: number }> => {
      const token = await server.request<string>('token', { username: READER });
      const profiling = options.profileDir !== undefined && base === info.url;
      if (profiling) await server.request('profile', { on: true });
      const r = await load.request<LoadResult>('run', { url: `${base}${p}`, token, connections: options.connections, warmupSeconds: options.warmup, seconds: options.seconds });
      if (profiling) {
        fs.mkdirSync(options.profileDir!, { recursive: true });
        log(`  profile: ${await server.request<string>('profile', { on: false, file: path.resolve(options.profileDir!, `${label.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`) })}`);
      }
      if (r.errors > 0) throw new Error(`${label}: ${r.errors} failed requests (${r.firstError})`);
      log(`  ${label}: ${round(r.rps, 0)} req/s, p50 ${round(r.p50Ms)} ms, p99 ${round(r.p99Ms)} ms`);
      return { ...r, load1: load1() };
    };
    const explain = async () => {
      const token = await server.request<string>('token', { username: READER }); // tokens live an hour; populating may take longer
      await server.request('capture', { on: true });
      await fhir(info.url, token, 'GET', readPath.slice(1));
      await fhir(info.url, token, 'GET', searchPath.slice(1));
      const statements = await server.request<{ sql: string; params: unknown[] }[]>('capture', { on: false });
      const distinct = [...new Map(statements.map((st) => [st.sql, st])).values()];
      return server.request<{ sql: string; plan: string }[]>('explain', { statements: distinct });
    };

    log(`population to ${SMALL.permissions} permissions / ${SMALL.documents} documents`);
    const small = await grow(SMALL);
    log(`ledger: ${small.counts.permissions} permissions, ${small.counts.documents} documents, block ${small.counts.replicaHeight}`);
    const bodies = { [readPath]: await fhir(info.url, readerToken, 'GET', readPath.slice(1)), [searchPath]: await fhir(info.url, readerToken, 'GET', searchPath.slice(1)) };
    const baseline = await startChild('baseline.ts');
    children.push(baseline);
    const { url: baselineUrl } = await baseline.request<{ url: string }>('start', { issuer: info.issuer, publicJwk: info.publicJwk, bodies });

    log('measuring at the small scale');
    const atSmall = {
      baselineRead: await measure(baselineUrl, readPath, 'baseline read'),
      baselineSearch: await measure(baselineUrl, searchPath, 'baseline search'),
      read: await measure(info.url, readPath, 'FHIR read'),
      search: await measure(info.url, searchPath, 'FHIR search'),
    };

    log(`population to ${options.permissions} permissions / ${options.documents} documents (${options.concurrency} transactions in flight)`);
    const big = await grow({ permissions: options.permissions, documents: options.documents });
    log(`ledger: ${big.counts.permissions} permissions, ${big.counts.documents} documents, block ${big.counts.replicaHeight}; ${round(big.committedSeconds, 0)} s to commit, ${round(big.totalSeconds, 0)} s until the replica caught up`);
    pop.close();

    log('measuring at the large scale');
    const atBig = {
      baselineRead: await measure(baselineUrl, readPath, 'baseline read'),
      baselineSearch: await measure(baselineUrl, searchPath, 'baseline search'),
      read: await measure(info.url, readPath, 'FHIR read'),
      search: await measure(info.url, searchPath, 'FHIR search'),
    };
    const plans = await explain();
    for (const p of plans) log(`plan at the large scale for: ${p.sql}\n${p.plan}\n`);
    const seqScans = plans.filter((p) => /Seq Scan on (ledger_permissions|ledger_documents|ledger_patients|patient_pseudonyms|users)\b/.test(p.plan)).map((p) => p.sql);

    const row = (label: string, r: LoadResult, base: LoadResult) => ({ endpoint: label, 'req/s': round(r.rps, 0), 'p50 ms': round(r.p50Ms), 'p99 ms': round(r.p99Ms), '÷ baseline': round(r.rps / base.rps, 3) });
    console.log(`\nbench:read on ${os.cpus().length} cores, ${info.databaseKind}, ${options.connections} connections, ${options.seconds} s per endpoint`);
    console.log(`small: ${small.counts.permissions} permissions, ${small.counts.documents} documents; large: ${big.counts.permissions} permissions, ${big.counts.documents} documents`);
    printTable([
      row('baseline read (small)', atSmall.baselineRead, atSmall.baselineRead),
      row('baseline search (small)', atSmall.baselineSearch, atSmall.baselineSearch),
      row('FHIR read (small)', atSmall.read, atSmall.baselineRead),
      row('FHIR search (small)', atSmall.search, atSmall.baselineSearch),
      row('baseline read (large)', atBig.baselineRead, atBig.baselineRead),
      row('baseline search (large)', atBig.baselineSearch, atBig.baselineSearch),
      row('FHIR read (large)', atBig.read, atBig.baselineRead),
      row('FHIR search (large)', atBig.search, atBig.baselineSearch),
    ]);
    const figures = {
      bench: 'read',
      cores: os.cpus().length,
      database: info.databaseKind,
      connections: options.connections,
      seconds: options.seconds,
      small: { permissions: small.counts.permissions, documents: small.counts.documents },
      large: { permissions: big.counts.permissions, documents: big.counts.documents, populate_seconds: round(big.totalSeconds, 0), operations_per_s: round((big.counts.permissions + big.counts.documents - small.counts.permissions - small.counts.documents) / big.totalSeconds, 0) },
      ...Object.fromEntries(
        (['small', 'large'] as const).flatMap((scale) => {
          const m = scale === 'small' ? atSmall : atBig;
          return Object.entries(m).map(([k, r]) => [`${k}_${scale}`, { rps: round(r.rps, 0), p50_ms: round(r.p50Ms), p99_ms: round(r.p99Ms), load1: r.load1 }]);
        }),
      ),
      read_vs_baseline_small: round(atSmall.read.rps / atSmall.baselineRead.rps, 3),
      search_vs_baseline_small: round(atSmall.search.rps / atSmall.baselineSearch.rps, 3),
      read_vs_baseline_large: round(atBig.read.rps / atBig.baselineRead.rps, 3),
      search_vs_baseline_large: round(atBig.search.rps / atBig.baselineSearch.rps, 3),
      read_scale_ratio: round(atBig.read.rps / atSmall.read.rps, 3),
      search_scale_ratio: round(atBig.search.rps / atSmall.search.rps, 3),
      seq_scans_at_large: seqScans,
    };
    const meets = {
      throughput_vs_baseline: Math.min(figures.read_vs_baseline_large, figures.search_vs_baseline_large, figures.read_vs_baseline_small, figures.search_vs_baseline_small) >= TARGET_RATIO,
      p99_under_20ms: Math.max(atSmall.read.p99Ms, atSmall.search.p99Ms, atBig.read.p99Ms, atBig.search.p99Ms) <= TARGET_P99_MS,
      scale: Math.min(figures.read_scale_ratio, figures.search_scale_ratio) >= TARGET_SCALE,
      full_size: big.counts.permissions >= 1_000_000 && big.counts.documents >= 100_000,
    };
    console.log(`targets: ≥ ${TARGET_RATIO}× baseline: ${meets.throughput_vs_baseline}; p99 ≤ ${TARGET_P99_MS} ms: ${meets.p99_under_20ms}; large ≥ ${TARGET_SCALE}× small: ${meets.scale}; at 1M/100k: ${meets.full_size}`);
    console.log(JSON.stringify({ ...figures, meets, load_average: os.loadavg().map((l) => round(l, 2)) }));
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await peer.stop();
    if (options.keep) log(`kept ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
