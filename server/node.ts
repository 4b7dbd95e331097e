import http from 'node:http';
import path from 'node:path';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import type { LedgerConfig } from './ledger/config.js';
import type { EmbeddedLedger } from './ledger/embedded.js';
import { LedgerUnavailableError } from './ledger/errors.js';
import { openLedger, type OpenedLedger } from './ledger/open.js';

export interface HospitalNodeOptions {
  name: string;
  mspId: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  ledger: LedgerConfig;
  /** the demo network's shared embedded peer */
  sharedPeer?: EmbeddedLedger;
}

export interface HospitalNode {
  url: string;
  db: Database;
  ledger: OpenedLedger;
  stop(): Promise<void>;
}

/** One hospital's server process: its database, its ledger client and its HTTP listener. */
export async function startHospitalNode(opts: HospitalNodeOptions): Promise<HospitalNode> {
  const db = await openDatabase({ databaseUrl: opts.databaseUrl, dataDir: path.join(opts.dataDir, opts.name) });
  const ledger = await openLedger(opts.ledger, db, opts.mspId, opts.sharedPeer);
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      const projection = ledger.client.projection;
      let status = 200;
      let detail = 'ok';
      try {
        projection.assertFresh();
      } catch (err) {
        if (!(err instanceof LedgerUnavailableError)) throw err;
        status = 503;
        detail = err.message;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'x-ledger-height': String(projection.height()) });
      res.end(JSON.stringify({ hospital: opts.mspId, status: detail, ledgerHeight: projection.ledgerHeight(), replicaHeight: projection.height() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}`,
    db,
    ledger,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ledger.close();
      await db.close();
    },
  };
}
