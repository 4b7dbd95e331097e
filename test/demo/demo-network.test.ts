import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devpeer/spawn.js';
import { tempDir } from '../support/ledger.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** `npm start` as a process: resolves once both hospitals announce their base URLs. */
async function startDemo(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const lines = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start\n${stderr}`)), 90_000);
    lines.on('line', (line) => {
      if (line.startsWith('HospitalBMSP:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}\n${stderr}`)));
  });
  return child;
}

function token(dataDir: string, hospital: string, user: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'server/tools/token.ts', '--hospital', hospital, '--user', user], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir } }).toString().trim();
}

async function search(port: number, tok: string, query: string) {
  const res = await fetch(`http://localhost:${port}/fhir/${query}`, { headers: { authorization: `Bearer ${tok}` } });
  return { status: res.status, body: (await res.json()) as { total: number; entry: { resource: { category: { coding: { code: string }[] }[] } }[] } };
}

describe('the demo network (npm start)', () => {
  const dataDir = tempDir('demo');
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('seeds the oncology patient at A on first start, and a restart keeps everything', async () => {
    const port = await freePort();
    child = await startDemo(dataDir, port);
    const mara = token(dataDir, 'A', 'mara');
    const first = await search(port, mara, 'DocumentReference');
    expect(first.status).toBe(200);
    expect(first.body.entry.map((e) => e.resource.category[0].coding[0].code).sort()).toEqual(['history-physical', 'imaging', 'lab-results', 'patient-private', 'radiation-dose', 'treatment-plan']);
    const lee = token(dataDir, 'B', 'dr.lee');
    expect((await search(port + 1, lee, 'DocumentReference')).body.total).toBe(0);
    const metadata = await fetch(`http://localhost:${port + 1}/fhir/metadata`);
    expect(metadata.status).toBe(200);

    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = await startDemo(dataDir, port);
    const again = await search(port, token(dataDir, 'A', 'mara'), 'DocumentReference');
    expect(again.body.total).toBe(first.body.total);
    const binary = await fetch(`http://localhost:${port}/fhir/Binary/${(again.body.entry[0].resource as unknown as { id: string }).id}`, { headers: { authorization: `Bearer ${mara}` } });
    expect(binary.status).toBe(200);
  });
});
