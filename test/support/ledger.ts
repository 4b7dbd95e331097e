import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueIdentity } from '../../devpeer/msp/ca.js';
import type { Database } from '../../server/db/database.js';
import { openDatabase } from '../../server/db/open.js';
import { startEmbeddedLedger, type EmbeddedLedger } from '../../server/ledger/embedded.js';
import type { LedgerUser } from '../../server/ledger/identity.js';
import { connectLedger, type LedgerClient, type LedgerConfig } from '../../server/ledger/index.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `consentry-${prefix}-`));
}

export const testLedgerConfig = (over: Partial<LedgerConfig> = {}): LedgerConfig => ({
  mode: 'embedded',
  dataDir: '',
  channel: 'consentry',
  chaincode: 'consentry',
  peerPort: 0,
  maxLagBlocks: 10,
  maxLagMs: 5_000,
  ...over,
} as LedgerConfig);

/** Issues a ledger identity from the embedded peer's CA for an organization. */
export async function issueUser(embedded: EmbeddedLedger, mspId: string, commonName: string, attrs: Record<string, string>): Promise<LedgerUser> {
  const org = embedded.peer.orgs.find((o) => o.mspId === mspId)!;
  const issued = await issueIdentity(org.ca, { commonName, ou: 'client', attrs });
  return { mspId, certPem: issued.certPem, privateKey: issued.keyPem };
}

export function newPseudonym(): string {
  return crypto.randomBytes(32).toString('hex');
}

export const DEMO_KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

/** An embedded peer, a database and a hospital's connected ledger client. */
export async function startLedgerFixture(opts: { db?: Database; mspId?: string } = {}) {
  const dataDir = tempDir('ledger');
  const embedded = await startEmbeddedLedger({ dataDir });
  const db = opts.db ?? (await openDatabase({ dataDir: null }));
  const mspId = opts.mspId ?? 'HospitalAMSP';
  const admin = embedded.adminOf(mspId);
  const client: LedgerClient = await connectLedger({ config: testLedgerConfig({ dataDir } as Partial<LedgerConfig>), endpoint: embedded.endpoint, db, serviceUser: admin });
  return {
    dataDir,
    embedded,
    db,
    admin,
    client,
    async stop() {
      await client.close();
      await embedded.stop();
      await db.close();
    },
  };
}
