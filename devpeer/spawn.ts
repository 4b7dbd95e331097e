import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface DevPeerAnnouncement {
  endpoint: string;
  channel: string;
  chaincode: string;
  orgs: { mspId: string; caCert: string; adminCert: string; adminKey: string }[];
}

export interface DevPeerProcess {
  child: ChildProcess;
  info: DevPeerAnnouncement;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A free loopback port (the kernel's pick, released for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** tsx's loader as resolved from the repository root, so the child does not depend on its working directory. */
const TSX_LOADER = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

/**
 * Runs `devpeer/main.ts` as its own process (as `npm run devpeer` does) and waits for its announcement line.
 * The child is node itself with tsx as a loader (not the tsx CLI, which would be a wrapper process), so
 * `stop('SIGKILL')` and `child.kill()` reach the peer.
 */
export async function spawnDevPeer(opts: {
  dataDir: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** extra node options for the child, e.g. ['--cpu-prof'] */
  nodeArgs?: string[];
}): Promise<DevPeerProcess> {
  const port = opts.port ?? (await freePort());
  const args = [...(opts.nodeArgs ?? []), '--import', TSX_LOADER, path.join(ROOT, 'devpeer', 'main.ts'), '--data', opts.dataDir];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PEER_PORT: String(port), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = readline.createInterface({ input: child.stdout! });
  const info = await new Promise<DevPeerAnnouncement>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devpeer did not announce itself within ${opts.timeoutMs ?? 30_000} ms\n${stderr}`)), opts.timeoutMs ?? 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as DevPeerAnnouncement);
      } catch {
        reject(new Error(`devpeer's first line is not JSON: ${line}\n${stderr}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`devpeer exited with ${code} before announcing itself\n${stderr}`));
    });
  });
  return {
    child,
    info,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** The CA of an announced org, to issue users for tests and benchmarks (the CA key sits next to its cert). */
export function announcedCa(org: DevPeerAnnouncement['orgs'][number]): { mspId: string; certPem: string; keyPem: string } {
  const dir = path.dirname(org.caCert);
  return { mspId: org.mspId, certPem: fs.readFileSync(org.caCert, 'utf8'), keyPem: fs.readFileSync(path.join(dir, 'ca-key.pem'), 'utf8') };
}
