// npm run bench:ledger — committed tx/s and latency through the fabric-gateway client against the
// devpeer (its own process, as `npm run devpeer` runs it), evaluates/s, and in the same run the
// machine's ECDSA P-256 sign+verify rate: the floor no ledger on this machine can beat.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueIdentity } from '../devpeer/msp/ca.js';
import { announcedCa, spawnDevPeer } from '../devpeer/spawn.js';
import { LedgerConnection } from '../server/ledger/connection.js';
import { ConsentryLedger } from '../server/ledger/consentry.js';
import type { LedgerUser } from '../server/ledger/identity.js';
import { LedgerTransactions } from '../server/ledger/transactions.js';
import { percentile, printTable, round, runConcurrent } from './stats.js';

const quick = process.argv.includes('--quick');
const LEVELS = quick ? [[1, 50], [16, 400], [64, 800]] : [[1, 300], [16, 2_000], [64, 6_000]];
const EVALUATE_SECONDS = quick ? 1 : 3;
const WARM_UP = quick ? 400 : 1_500;

function ecdsaFloor(seconds = 1): number {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = crypto.randomBytes(1_500); // about a proposal's size
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const sig = crypto.sign('sha256', message, privateKey);
    if (!crypto.verify('sha256', message, publicKey, sig)) throw new Error('verify failed');
    n++;
  }
  return n / seconds;
}

async function main() {
  const floor = ecdsaFloor();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-bench-'));
  const peer = await spawnDevPeer({ dataDir, nodeArgs: (process.env.BENCH_PEER_NODE_ARGS ?? "").split(" ").filter(Boolean) });
  const org = peer.info.orgs.find((o) => o.mspId === 'HospitalAMSP') ?? peer.info.orgs[0];
  const ca = announcedCa(org);
  const admin = { mspId: org.mspId, certPem: fs.readFileSync(org.adminCert, 'utf8'), privateKey: fs.readFileSync(org.adminKey, 'utf8') } satisfies LedgerUser;
  const connection = new LedgerConnection({ endpoint: peer.info.endpoint });
  const ledger = new ConsentryLedger(new LedgerTransactions(connection, peer.info.channel, peer.info.chaincode));

  // A realistic spread: many patients, each with a handful of grants (CheckAccess scans one patient's grants).
  const PATIENTS = 200;
  const patients: { pseudonym: string; user: LedgerUser }[] = [];
  for (let i = 0; i < PATIENTS; i++) {
    const pseudonym = crypto.randomBytes(32).toString('hex');
    const issued = await issueIdentity(ca, { commonName: `bench-patient-${i}`, ou: 'client', attrs: { role: 'patient', pseudonym, fhirUser: `Patient/bench-${i}` } });
    patients.push({ pseudonym, user: { mspId: org.mspId, certPem: issued.certPem, privateKey: issued.keyPem } });
  }
  const encryptionKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
  for (let i = 0; i < PATIENTS; i += 100) {
    await ledger.submitBatch(admin, patients.slice(i, i + 100).map((p) => ({ fn: 'RegisterPatient', args: [JSON.stringify({ pseudonym: p.pseudonym, encryptionKey })] })));
  }

  const now = Date.now();
  let seq = 0;
  const grant = () => {
    const n = seq++;
    const p = patients[n % PATIENTS];
    return ledger.grantPermission(p.user, {
      id: `bench-${n}`,
      patient: p.pseudonym,
      grantee: { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' },
      rights: ['read'],
      categories: ['lab-results', 'radiation-dose'],
      from: new Date(now).toISOString(),
      to: new Date(now + 90 * 86_400_000).toISOString(),
      purpose: 'TREAT',
    });
  };
  // Warm-up: every bench user has transacted (a new user's first request pays once for certificate checks
  // on both sides), the JIT has compiled the hot paths, and the gRPC channel and block stream are open.
  await runConcurrent(WARM_UP, 32, grant);

  const rows: Record<string, string | number>[] = [];
  const figures: Record<string, number> = { ecdsa_sign_verify_per_s: round(floor, 0) };
  for (const [concurrency, total] of LEVELS) {
    const { latencies, seconds } = await runConcurrent(total, concurrency, grant);
    const tps = total / seconds;
    figures[`submit_tps_c${concurrency}`] = round(tps, 0);
    figures[`submit_p50_ms_c${concurrency}`] = round(percentile(latencies, 50));
    figures[`submit_p99_ms_c${concurrency}`] = round(percentile(latencies, 99));
    rows.push({ concurrency, transactions: total, 'committed tx/s': round(tps, 0), 'p50 ms': round(percentile(latencies, 50)), 'p99 ms': round(percentile(latencies, 99)), 'tx/s ÷ ECDSA floor': round(tps / floor, 4) });
  }

  let evaluations = 0;
  const evalEnd = performance.now() + EVALUATE_SECONDS * 1000;
  const evalStart = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < evalEnd) {
        const p = patients[evaluations % PATIENTS];
        await ledger.checkAccess(p.user, p.pseudonym, { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' }, 'read', 'lab-results');
        evaluations++;
      }
    }),
  );
  const eps = evaluations / ((performance.now() - evalStart) / 1000);
  figures.evaluate_per_s_c64 = round(eps, 0);

  connection.close();
  await peer.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });

  console.log(`ECDSA P-256 sign+verify on this machine (1 core, node:crypto): ${round(floor, 0)}/s — the baseline below`);
  printTable(rows);
  console.log(`evaluate (CheckAccess) at concurrency 64: ${round(eps, 0)}/s = ${round(eps / floor, 4)} × ECDSA floor`);
  const targets = {
    tps_c64_vs_target_1000: round(figures.submit_tps_c64 / 1000, 3),
    p50_c1_vs_target_10ms: round(figures.submit_p50_ms_c1 / 10, 3),
    tps_c64_vs_ecdsa_floor: round(figures.submit_tps_c64 / floor, 4),
  };
  console.log(`targets: c64 tx/s ÷ 1000 = ${targets.tps_c64_vs_target_1000} (≥ 1 meets), p50 c1 ÷ 10 ms = ${targets.p50_c1_vs_target_10ms} (≤ 1 meets)`);
  // load average over the last minute: other processes on the machine compete with the bench for CPU
  console.log(JSON.stringify({ bench: 'ledger', cores: os.cpus().length, ...figures, ...targets, load_avg_1m: round(os.loadavg()[0]) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
