// Request/response over a forked child's IPC channel: the orchestrator of bench:read drives its server,
// baseline and load-generator processes with it.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}
interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX_LOADER = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

export interface ChildHandle {
  process: ChildProcess;
  request<T>(cmd: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** Forks `bench/read/<file>` as node with tsx as its loader and waits until it says it is ready. */
export async function startChild(file: string, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<ChildHandle> {
  const child = fork(path.join(ROOT, 'bench', 'read', file), [], {
    execArgv: [...nodeArgs, '--import', TSX_LOADER],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (m: Response | { ready: true }) => {
    if ('ready' in m) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`${file}: ${m.error}`));
  });
  child.once('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`${file} exited with ${code}`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if ((m as { ready?: boolean }).ready) {
        child.off('message', onMessage);
        resolve();
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
  return {
    process: child,
    request<T>(cmd: string, args?: unknown) {
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** In a child: answers the orchestrator's requests with `handlers`, then announces it is ready. */
export function serve(handlers: Record<string, (args: never) => Promise<unknown>>): void {
  process.on('message', (m: Request) => {
    const handler = handlers[m.cmd];
    const reply = (r: Omit<Response, 'id'>) => process.send?.({ id: m.id, ...r });
    if (!handler) return reply({ ok: false, error: `unknown command ${m.cmd}` });
    handler(m.args as never).then(
      (value) => reply({ ok: true, value }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.send?.({ ready: true });
}
