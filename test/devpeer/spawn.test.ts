// spawnDevPeer runs the peer as the node process itself, so a signal sent through stop() reaches it.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnDevPeer } from '../../devpeer/spawn.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(endpoint: string): Promise<boolean> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('spawnDevPeer', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-spawn-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('stop("SIGKILL") kills the serving process itself', async () => {
    const peer = await spawnDevPeer({ dataDir });
    expect(await accepts(peer.info.endpoint)).toBe(true);
    const pid = peer.child.pid!;
    await peer.stop('SIGKILL');
    expect(peer.child.signalCode).toBe('SIGKILL');
    expect(alive(pid)).toBe(false);
    expect(await accepts(peer.info.endpoint)).toBe(false);
  }, 30_000);
});
