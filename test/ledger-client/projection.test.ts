import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.js';
import { LedgerRejectedError, LedgerUnavailableError } from '../../server/ledger/errors.js';
import type { LedgerUser } from '../../server/ledger/identity.js';
import { LedgerProjection } from '../../server/ledger/projection.js';
import { createScratchDatabase } from '../support/postgres.js';
import { DEMO_KEY, issueUser, newPseudonym, startLedgerFixture } from '../support/ledger.js';

const DAY = 86_400_000;

describe.each(['pglite', 'postgres'] as const)('ledger client and projection on %s', (kind) => {
  let fx: Awaited<ReturnType<typeof startLedgerFixture>>;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let patient: LedgerUser;
  let lee: LedgerUser;
  const pseudonym = newPseudonym();

  beforeAll(async () => {
    if (kind === 'postgres') scratch = await createScratchDatabase();
    const db = scratch ? await openDatabase({ databaseUrl: scratch.url, dataDir: null }) : undefined;
    fx = await startLedgerFixture({ db });
    patient = await issueUser(fx.embedded, 'HospitalAMSP', 'patient-1', { role: 'patient', pseudonym, fhirUser: 'Patient/p1' });
    lee = await issueUser(fx.embedded, 'HospitalBMSP', 'dr-lee', { role: 'practitioner', fhirUser: 'Practitioner/lee', npi: '1234567893' });
  });
  afterAll(async () => {
    await fx?.stop();
    await scratch?.drop();
  });

  it('projects a grant into the database at the block that committed it', async () => {
    const registered = await fx.client.consentry.registerPatient(fx.admin, { pseudonym, encryptionKey: DEMO_KEY });
    expect(registered.value.status).toBe('active');
    const now = Date.now();
    const granted = await fx.client.consentry.grantPermission(patient, {
      id: 'perm-lee',
      patient: pseudonym,
      grantee: { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' },
      rights: ['read'],
      categories: ['lab-results', 'radiation-dose'],
      from: new Date(now - 1000).toISOString(),
      to: new Date(now + 90 * DAY).toISOString(),
      purpose: 'TREAT',
    });
    await fx.client.projection.waitForBlock(granted.blockNumber);
    expect(fx.client.projection.height()).toBeGreaterThan(granted.blockNumber);
    const { rows } = await fx.db.query<{ status: string; grantee_id: string; categories: string[]; block_number: number; tx_id: string }>(
      'SELECT status, grantee_id, categories, block_number, tx_id FROM ledger_permissions WHERE patient = $1',
      [pseudonym],
    );
    expect(rows).toEqual([{ status: 'active', grantee_id: 'HospitalBMSP/Practitioner/lee', categories: ['lab-results', 'radiation-dose'], block_number: granted.blockNumber, tx_id: granted.transactionId }]);
    const checkpoint = await fx.db.query<{ next_block: number }>('SELECT next_block FROM ledger_checkpoint');
    expect(checkpoint.rows[0].next_block).toBe(fx.client.projection.height());
  });

  it('a revoke reaches the projection and the ledger decision from its block on', async () => {
    const before = await fx.client.consentry.checkAccess(lee, pseudonym, { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' }, 'read', 'lab-results');
    expect(before.allowed).toBe(true);
    const revoked = await fx.client.consentry.revokePermission(patient, pseudonym, 'perm-lee');
    await fx.client.projection.waitForBlock(revoked.blockNumber);
    const { rows } = await fx.db.query<{ status: string }>('SELECT status FROM ledger_permissions WHERE patient = $1 AND id = $2', [pseudonym, 'perm-lee']);
    expect(rows[0].status).toBe('revoked');
    const after = await fx.client.consentry.checkAccess(lee, pseudonym, { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' }, 'read', 'lab-results');
    expect(after.allowed).toBe(false);
    const events = await fx.db.query<{ event_name: string }>('SELECT event_name FROM ledger_events WHERE patient = $1 ORDER BY block_number, tx_index', [pseudonym]);
    expect(events.rows.map((r) => r.event_name)).toEqual(['PatientRegistered', 'PermissionGranted', 'PermissionRevoked']);
    const unknown = fx.client.consentry.getDocument(lee, pseudonym, 'no-such-document');
    await expect(unknown).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('a chaincode refusal surfaces as LedgerRejectedError with the contract message, and changes nothing', async () => {
    const other = newPseudonym();
    await fx.client.consentry.registerPatient(fx.admin, { pseudonym: other, encryptionKey: DEMO_KEY });
    const heightBefore = fx.embedded.peer.height();
    const attempt = fx.client.consentry.grantPermission(patient, {
      id: 'not-mine',
      patient: other,
      grantee: { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' },
      rights: ['read'],
      categories: ['lab-results'],
      from: new Date().toISOString(),
      to: new Date(Date.now() + DAY).toISOString(),
      purpose: 'TREAT',
    });
    await expect(attempt).rejects.toBeInstanceOf(LedgerRejectedError);
    await expect(attempt).rejects.toMatchObject({ kind: 'denied', message: expect.stringMatching(/^Permission denied/) });
    expect(fx.embedded.peer.height()).toBe(heightBefore);
  });

  it('a second projection over the same database resumes from the checkpoint without replaying', async () => {
    const network = fx.client.connection.gatewayFor(fx.admin).getNetwork('consentry');
    const countEvents = async () => (await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_events')).rows[0].n;
    await fx.client.projection.waitForBlock(fx.embedded.peer.height() - 1); // caught up before it stops
    const eventsBefore = await countEvents();
    await fx.client.projection.stop();
    const resumed = new LedgerProjection(fx.db, network, { channel: 'consentry', chaincode: 'consentry', maxLagBlocks: 10, maxLagMs: 5_000 });
    await resumed.start();
    expect(resumed.height()).toBe(fx.client.projection.height());
    const granted = await fx.client.consentry.grantPermission(patient, {
      id: 'perm-after-restart',
      patient: pseudonym,
      grantee: { kind: 'organization', id: 'HospitalBMSP' },
      rights: ['read'],
      categories: ['imaging'],
      from: new Date().toISOString(),
      to: new Date(Date.now() + DAY).toISOString(),
      purpose: 'TREAT',
    });
    await resumed.waitForBlock(granted.blockNumber);
    expect(await countEvents()).toBe(eventsBefore + 1);
    expect(resumed.assertFresh()).toBe(resumed.height());
    await resumed.stop();
  });
});

describe('failing closed', () => {
  it('assertFresh throws LedgerUnavailableError once the peer is gone for longer than the allowed lag', async () => {
    const fx = await startLedgerFixture();
    const network = fx.client.connection.gatewayFor(fx.admin).getNetwork('consentry');
    const projection = new LedgerProjection(fx.db, network, { channel: 'consentry', chaincode: 'consentry', maxLagBlocks: 10, maxLagMs: 300, pollMs: 50 });
    await projection.start();
    expect(() => projection.assertFresh()).not.toThrow();
    await fx.embedded.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(() => projection.assertFresh()).toThrow(LedgerUnavailableError);
    await projection.stop();
    await fx.client.close();
    await fx.db.close();
  });
});
