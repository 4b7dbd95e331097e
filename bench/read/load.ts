// bench:read's load generator, in a process of its own so the server under test does not share an event
// loop (or, on two cores, a core) with its client: `connections` keep-alive HTTP/1.1 connections, each
// sending its next request as soon as the previous answer has been read in full (a closed loop).
import http from 'node:http';
import { serve } from './ipc.js';

export interface LoadSpec {
  url: string;
  token: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** answers other than 200, and transport errors */
  errors: number;
  firstError?: string;
  bytesPerResponse: number;
}

function once(agent: http.Agent, url: URL, token: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const url = new URL(spec.url);
  let latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  let measuring = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        const r = await once(agent, url, spec.token);
        if (!measuring) continue;
        latencies.push(performance.now() - t0);
        bytes = r.bytes;
        if (r.status !== 200) {
          errors++;
          firstError ??= `HTTP ${r.status}`;
        }
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
    }
  };
  const loops = Array.from({ length: spec.connections }, loop);
  await new Promise((r) => setTimeout(r, spec.warmupSeconds * 1000));
  latencies = [];
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, spec.seconds * 1000));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  const done = latencies.length;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? NaN;
  return { requests: done, seconds, rps: done / seconds, p50Ms: at(50), p99Ms: at(99), maxMs: latencies[latencies.length - 1] ?? NaN, errors, firstError, bytesPerResponse: bytes };
}

serve({ run: (spec: LoadSpec) => run(spec) });
