import type { BlobStore } from '../../server/documents/index.js';
import { startEmbeddedLedger, type EmbeddedLedger } from '../../server/ledger/embedded.js';
import { startHospitalNode, type HospitalNode } from '../../server/node.js';
import { tempDir, testLedgerConfig } from './ledger.js';
import { createScratchDatabase } from './postgres.js';

export interface TestNetwork {
  dataDir: string;
  peer: EmbeddedLedger;
  a: HospitalNode;
  b: HospitalNode;
  stop(): Promise<void>;
}

/** Two hospital nodes on one embedded peer, as `npm start` runs them, on ephemeral ports. */
export type Backend = 'pglite' | 'postgres';

/** Integration suites run on both databases: PGlite (the embedded default) and the CI's PostgreSQL. */
export const BACKENDS: Backend[] = ['pglite', 'postgres'];

export async function startTestNetwork(opts: { backend?: Backend; databaseUrlA?: string; databaseUrlB?: string; blobStore?: BlobStore; maxLagMs?: number } = {}): Promise<TestNetwork> {
  const dataDir = tempDir('net');
  const scratch = opts.backend === 'postgres' ? await Promise.all([createScratchDatabase(), createScratchDatabase()]) : [];
  if (scratch.length) {
    opts = { ...opts, databaseUrlA: scratch[0].url, databaseUrlB: scratch[1].url };
  }
  const peer = await startEmbeddedLedger({ dataDir });
  const ledger = testLedgerConfig({ dataDir, ...(opts.maxLagMs ? { maxLagMs: opts.maxLagMs } : {}) } as never);
  const quiet = () => undefined;
  const a = await startHospitalNode({ name: 'hospitala', mspId: 'HospitalAMSP', port: 0, dataDir, databaseUrl: opts.databaseUrlA, ledger, sharedPeer: peer, blobStore: opts.blobStore, log: quiet });
  const b = await startHospitalNode({ name: 'hospitalb', mspId: 'HospitalBMSP', port: 0, dataDir, databaseUrl: opts.databaseUrlB, ledger, sharedPeer: peer, blobStore: opts.blobStore, hospitals: { HospitalAMSP: a.baseUrl }, log: quiet });
  a.hospitals.add('HospitalBMSP', b.baseUrl);
  return {
    dataDir,
    peer,
    a,
    b,
    async stop() {
      await b.stop();
      await a.stop();
      await peer.stop();
      for (const db of scratch) await db.drop();
    },
  };
}

/** A tiny FHIR HTTP client for tests: JSON in, status + headers + JSON out. */
export async function fhir(baseUrl: string, token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}/${path}`, {
    method,
    headers: {
      accept: 'application/fhir+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

/**
 * Ledger writes from block `height` on, other than the hospitals' background audit anchors (AnchorAudit every
 * few seconds), as `node`'s replica sees them once it has caught up with the peer: "nothing was written".
 */
export async function writesSince(net: TestNetwork, height: number, node: HospitalNode = net.a): Promise<number> {
  const tip = net.peer.peer.height();
  if (tip > 0) await node.ledger.client.projection.waitForBlock(tip - 1);
  const { rows } = await node.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_events WHERE block_number >= $1 AND event_name <> 'AuditAnchored'`, [height]);
  return rows[0].n;
}
