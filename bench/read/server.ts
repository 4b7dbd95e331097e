// bench:read's FHIR server process: one hospital node (Hospital A) exactly as `npm run node` runs it against
// a separate peer (ledger mode "fabric"), plus a control channel for the orchestrator: enrollment, tokens,
// ledger counts, and the query plans of the statements a request runs.
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
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
const query = node.db.query.bind(node.db);
node.db.query = (async (sql: string, params?: unknown[]) => {
  captured?.push({ sql, params: params ?? [] });
  return query(sql, params);
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
  /** a CPU profile of this process over a measurement window (bench:read --profile-server <dir>) */
  async profile(args: { on: boolean; file?: string }) {
    profiler ??= new inspector.Session();
    if (args.on) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      return null;
    }
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    fs.writeFileSync(args.file!, JSON.stringify(profile));
    return args.file;
  },
  async analyze() {
    for (const table of ['ledger_permissions', 'ledger_documents', 'ledger_patients', 'patient_pseudonyms', 'users']) await query(`ANALYZE ${table}`);
    return null;
  },
});

process.once('SIGTERM', () => {
  void node.stop().finally(() => process.exit(0));
});
