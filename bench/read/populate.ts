// Puts permissions and documents on the ledger through the chaincode, as fast as the gateway allows: every
// population patient is registered by the hospital admin (RegisterPatient, 100 per SubmitBatch) and then
// submits one SubmitBatch of its own (the chaincode lets only the patient grant, and the patient may add
// documents of any category): its documents, then its grants, at most 100 operations.
import crypto from 'node:crypto';
import { issueIdentity, type CaMaterial } from '../../devpeer/msp/ca.js';
import { LedgerConnection } from '../../server/ledger/connection.js';
import { ConsentryLedger, type BatchOperation } from '../../server/ledger/consentry.js';
import { LedgerRejectedError, LedgerUnavailableError } from '../../server/ledger/errors.js';
import type { LedgerUser } from '../../server/ledger/identity.js';
import { LedgerTransactions } from '../../server/ledger/transactions.js';

const DAY = 86_400_000;
const PER_BATCH = 100;
const SHAREABLE = ['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan'];
const LOINC: Record<string, string> = { 'history-physical': '34117-2', 'lab-results': '11502-2', 'radiation-dose': '73569-6', imaging: '18748-4', 'treatment-plan': '18776-5', 'patient-private': '51855-5' };
const ENCRYPTION_KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

export interface PopulationTarget {
  permissions: number;
  documents: number;
}

export interface Populator {
  /** what this populator has written so far, and the block its last transaction committed in */
  written: PopulationTarget & { patients: number; transactions: number; lastBlock: number };
  /** adds permissions and documents until the totals written by it reach `target` */
  grow(target: PopulationTarget, onProgress?: (written: Populator['written']) => void): Promise<void>;
  close(): void;
}

/**
 * @param grantees ledger ids of practitioners population grants go to (about 1% go to `hot`, the benchmark's
 *   reader, so it holds many permissions as a busy clinician would)
 */
export function populator(opts: { endpoint: string; channel: string; chaincode: string; ca: CaMaterial; admin: LedgerUser; hot: string; concurrency: number }): Populator {
  const connection = new LedgerConnection({ endpoint: opts.endpoint });
  const ledger = new ConsentryLedger(new LedgerTransactions(connection, opts.channel, opts.chaincode));
  const written = { permissions: 0, documents: 0, patients: 0, transactions: 0, lastBlock: 0 };
  /** One SubmitBatch; a busy peer's timeouts are retried, and a retry refused because the first attempt did commit counts as done. */
  const submit = async (as: LedgerUser, ops: BatchOperation[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const committed = await ledger.submitBatch(as, ops);
        written.lastBlock = Math.max(written.lastBlock, committed.blockNumber);
        break;
      } catch (err) {
        if (attempt > 1 && err instanceof LedgerRejectedError && /already exists|already registered/.test(err.message)) break;
        if (attempt >= 5 || !(err instanceof LedgerUnavailableError)) throw err;
        await new Promise((r) => setTimeout(r, 1_000 * attempt));
      }
    }
    written.transactions++;
  };
  const now = Date.now();
  let serial = 0;

  const grant = (patient: string, i: number) => {
    const n = serial++;
    const ended = n % 10 === 9; // one in ten has already run out
    const grantee = n % 100 === 7 ? opts.hot : `HospitalBMSP/Practitioner/pop-${n % 997}`;
    return {
      fn: 'GrantPermission',
      args: [
        JSON.stringify({
          id: `pop-${i}`,
          patient,
          grantee: { kind: 'practitioner', id: grantee },
          rights: n % 4 === 0 ? ['read', 'write'] : ['read'],
          categories: n % 5 === 0 ? ['*'] : [SHAREABLE[n % SHAREABLE.length], SHAREABLE[(n + 2) % SHAREABLE.length]],
          from: new Date(now - (ended ? 400 : 1) * DAY).toISOString(),
          to: new Date(now + (ended ? -35 : 365) * DAY).toISOString(),
          purpose: 'TREAT',
        }),
      ],
    };
  };
  const document = (patient: string) => {
    const n = serial++;
    const category = n % 11 === 0 ? 'patient-private' : SHAREABLE[n % SHAREABLE.length];
    const id = crypto.randomUUID();
    // metadata only: the benchmarked requests read the projection, never these blobs
    return { fn: 'AddDocument', args: [JSON.stringify({ id, patient, category, type: LOINC[category], blob: `bench/${patient}/${id}`, ciphertextSha256: crypto.randomBytes(32).toString('hex'), size: 48_213, contentType: 'application/pdf' })] };
  };

  /** registers `count` new patients (admin batches of 100) and issues their ledger identities */
  async function newPatients(count: number): Promise<{ pseudonym: string; user: Promise<LedgerUser> }[]> {
    const out = Array.from({ length: count }, () => {
      const pseudonym = crypto.randomBytes(32).toString('hex');
      const user = issueIdentity(opts.ca, { commonName: `pop-${pseudonym.slice(0, 12)}`, ou: 'client', attrs: { role: 'patient', pseudonym, fhirUser: `Patient/${pseudonym}` } }).then(
        (id): LedgerUser => ({ mspId: opts.ca.mspId, certPem: id.certPem, privateKey: id.keyPem }),
      );
      return { pseudonym, user };
    });
    const batches: BatchOperation[][] = [];
    for (let i = 0; i < count; i += PER_BATCH) {
      batches.push(out.slice(i, i + PER_BATCH).map((p) => ({ fn: 'RegisterPatient', args: [JSON.stringify({ pseudonym: p.pseudonym, encryptionKey: ENCRYPTION_KEY })] })));
    }
    await runPool(batches, opts.concurrency, (ops) => submit(opts.admin, ops));
    written.patients += count;
    return out;
  }

  return {
    written,
    async grow(target, onProgress) {
      const permissions = Math.max(0, target.permissions - written.permissions);
      const documents = Math.max(0, target.documents - written.documents);
      if (permissions + documents === 0) return;
      // each patient gets at most 100 operations, permissions and documents in the overall proportion
      const units = Math.ceil((permissions + documents) / (PER_BATCH - 2)); // rounding adds at most 2 per unit
      const share = (total: number, i: number) => Math.floor(((i + 1) * total) / units) - Math.floor((i * total) / units);
      let lastReport = 0;
      for (let start = 0; start < units; start += 1_000) {
        const chunk = Math.min(1_000, units - start);
        const patients = await newPatients(chunk);
        await runPool(patients.map((p, k) => ({ p, i: start + k })), opts.concurrency, async ({ p, i }) => {
          const docs = share(documents, i);
          const grants = share(permissions, i);
          const ops = [...Array.from({ length: docs }, () => document(p.pseudonym)), ...Array.from({ length: grants }, (_, j) => grant(p.pseudonym, j))];
          await submit(await p.user, ops);
          written.documents += docs;
          written.permissions += grants;
          if (onProgress && Date.now() - lastReport > 10_000) {
            lastReport = Date.now();
            onProgress(written);
          }
        });
      }
    },
    close: () => connection.close(),
  };
}

async function runPool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}
