// npm run bench:auth [-- --requests 3000 --concurrency 64]
// Token endpoint throughput: client_credentials tokens/s (private_key_jwt with an ES384 and with an RS384
// assertion, a fresh jti each) and refresh_token grants/s (rotating, patient grants resting on a ledger
// permission), against baselines measured in the same run: raw jose doing the server's cryptography of one
// client_credentials grant (verify the ES384 assertion, sign the ES256 access token) and a plain HTTP round
// trip to the same server. The server runs in its own process; the load generator signs its assertions
// before the timed phase, so only the server's work is timed. Last stdout line: one JSON object.
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { authorize, backendKey, clientAssertion, exchangeCode, publicApp, register, tokenRequest, type SmartTarget } from '../test/smart/helpers.js';
import { percentile, printTable, round, runConcurrent } from './stats.js';

const TARGET_PER_S = 500;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX_LOADER = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function startServer(): Promise<{ target: SmartTarget; databaseKind: string; stop(): Promise<void> }> {
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof", profiles the server process
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = fork(path.join(ROOT, 'bench', 'auth', 'server.ts'), [], { execArgv: [...nodeArgs, '--import', TSX_LOADER], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const info = await new Promise<{ url: string; baseUrl: string; urls: SmartTarget['smart']['urls']; databaseKind: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    target: { url: info.url, baseUrl: info.baseUrl, smart: { urls: info.urls, openRegistration: true, initialAccessToken: '' } },
    databaseKind: info.databaseKind,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The server's cryptography of one client_credentials grant, without HTTP, storage or oidc-provider. */
async function joseBaseline(n: number): Promise<number> {
  const client = await generateKeyPair('ES384');
  const server = await generateKeyPair('ES256');
  const assertions = await Promise.all(
    Array.from({ length: n }, () =>
      new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'k' }).setIssuer('c').setSubject('c').setAudience('t').setIssuedAt().setExpirationTime('4m').setJti(crypto.randomUUID()).sign(client.privateKey),
    ),
  );
  const verifyKey = await importJWK(await exportJWK(client.publicKey), 'ES384');
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    await jwtVerify(assertions[i], verifyKey, { audience: 't', issuer: 'c' });
    await new SignJWT({ scope: 'system/Patient.rs', client_id: 'c' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).setIssuer('i').setAudience('i').setIssuedAt().setExpirationTime('5m').setJti(crypto.randomUUID()).sign(server.privateKey);
  }
  return n / ((performance.now() - started) / 1000);
}

async function main() {
  const requests = arg('requests', 3000);
  const concurrency = arg('concurrency', 64);
  const server = await startServer();
  const node = server.target;
  try {
    const backends = await Promise.all(
      (['ES384', 'RS384'] as const).map(async (alg) => {
        const key = await backendKey(alg);
        const client = await register(node, { client_name: `bench backend ${alg}`, token_endpoint_auth_method: 'private_key_jwt', jwks: key.jwks, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'system/Patient.rs' });
        return { alg, key, clientId: client.client_id as string };
      }),
    );
    const app = await register(node, publicApp('bench app'));
    // one rotating refresh chain per concurrent worker, each from a patient's approval (a ledger permission)
    const chains: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      const { redirect, verifier } = await authorize(node, { clientId: app.client_id, scope: 'launch/patient offline_access patient/*.rs', username: 'bench-patient', password: 'bench-pw' });
      chains.push((await exchangeCode(node, app.client_id, redirect, verifier)).body.refresh_token);
    }

    // each assertion carries its own jti (a replay is refused) and is valid for four minutes
    const assertionsFor = (b: (typeof backends)[number], n: number) => Promise.all(Array.from({ length: n }, () => clientAssertion(b.key, b.clientId, node.smart.urls.token)));
    const clientCredentials = (assertions: string[]) => async (i: number) => {
      const res = await tokenRequest(node, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertions[i] });
      if (res.status !== 200) throw new Error(`client_credentials: ${res.status} ${JSON.stringify(res.body)}`);
    };
    const refresh = async (i: number) => {
      const chain = i % concurrency;
      const res = await tokenRequest(node, { grant_type: 'refresh_token', refresh_token: chains[chain], client_id: app.client_id });
      if (res.status !== 200) throw new Error(`refresh: ${res.status} ${JSON.stringify(res.body)}`);
      chains[chain] = res.body.refresh_token;
    };
    const http = async () => {
      const res = await fetch(node.smart.urls.smartConfiguration);
      await res.arrayBuffer();
    };
    // refreshes of one chain must not overlap: worker w always takes requests w, w+c, w+2c, ...
    const perChain = async (total: number, task: (i: number) => Promise<void>) => {
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, w) => {
          for (let i = w; i < total; i += concurrency) {
            const t0 = performance.now();
            await task(i);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
    };

    await runConcurrent(200, concurrency, clientCredentials(await assertionsFor(backends[0], 200)));
    await perChain(200, refresh);
    await runConcurrent(500, concurrency, http);

    const ccRuns: Record<string, { latencies: number[]; seconds: number }> = {};
    for (const b of backends) ccRuns[b.alg] = await runConcurrent(requests, concurrency, clientCredentials(await assertionsFor(b, requests)));
    const cc = ccRuns.ES384;
    const rs = ccRuns.RS384;
    const rt = await perChain(requests, refresh);
    const rtt = await runConcurrent(requests, concurrency, http);
    const jose = await joseBaseline(Math.min(requests, 1000));

    const rate = (r: { latencies: number[]; seconds: number }) => r.latencies.length / r.seconds;
    const ccRate = rate(cc);
    const rsRate = rate(rs);
    const rtRate = rate(rt);
    const httpRate = rate(rtt);
    printTable([
      { what: 'client_credentials (ES384 assertion)', per_s: round(ccRate, 0), p50_ms: round(percentile(cc.latencies, 50)), p95_ms: round(percentile(cc.latencies, 95)) },
      { what: 'client_credentials (RS384 assertion)', per_s: round(rsRate, 0), p50_ms: round(percentile(rs.latencies, 50)), p95_ms: round(percentile(rs.latencies, 95)) },
      { what: 'refresh_token (rotating)', per_s: round(rtRate, 0), p50_ms: round(percentile(rt.latencies, 50)), p95_ms: round(percentile(rt.latencies, 95)) },
      { what: 'baseline: HTTP GET discovery', per_s: round(httpRate, 0), p50_ms: round(percentile(rtt.latencies, 50)), p95_ms: round(percentile(rtt.latencies, 95)) },
      { what: 'baseline: jose verify+sign (1 core)', per_s: round(jose, 0), p50_ms: '-', p95_ms: '-' },
    ]);
    const result = {
      bench: 'auth',
      database: server.databaseKind,
      requests,
      concurrency,
      client_credentials_per_s: round(ccRate, 1),
      client_credentials_rs384_per_s: round(rsRate, 1),
      refresh_per_s: round(rtRate, 1),
      client_credentials_p95_ms: round(percentile(cc.latencies, 95)),
      refresh_p95_ms: round(percentile(rt.latencies, 95)),
      baseline_http_per_s: round(httpRate, 1),
      baseline_jose_per_s: round(jose, 1),
      client_credentials_vs_http: round(ccRate / httpRate, 3),
      refresh_vs_http: round(rtRate / httpRate, 3),
      client_credentials_vs_jose: round(ccRate / jose, 3),
      refresh_vs_jose: round(rtRate / jose, 3),
      target_per_s: TARGET_PER_S,
      load_average: os.loadavg().map((l) => round(l, 2)),
      pass: ccRate >= TARGET_PER_S && rsRate >= TARGET_PER_S && rtRate >= TARGET_PER_S,
    };
    console.log(JSON.stringify(result));
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
