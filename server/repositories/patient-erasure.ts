import type { Database } from '../db/database.js';
import type { DocumentStore } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import type { LedgerClient } from '../ledger/index.js';
import type { PatientDirectory } from '../membership/patients.js';
import { forEachBounded } from './bounded.js';
import { settle } from './ledger-read.js';
import { requirePatientOwner } from './patient-owner.js';

const PARALLEL_DELETES = 16;

export interface ErasureResult {
  pseudonym: string;
  /** content blobs destroyed, each with every wrapped key */
  documents: number;
  /** further blobs under the patient's prefixes: wrapped keys left behind, shared demographics */
  otherBlobs: number;
}

/**
 * Erasure (DESIGN §6), by the patient or an admin of their home hospital: the ledger tombstone first (ErasePatient:
 * the patient, their permissions and documents marked, the chain itself untouched), then what makes the data
 * unreadable for good: every content blob and every wrapped key for every recipient at every hospital (one shared
 * blob store), the demographics shared with grantees, pending key syncs, and the pseudonym secret. Calling it
 * again after an interruption finishes the destruction.
 */
export class PatientErasure {
  constructor(
    private readonly deps: {
      db: Database;
      ledger: LedgerClient;
      documents: DocumentStore;
      patients: PatientDirectory;
    },
  ) {}

  async erase(ctx: RequestContext, patientId: string): Promise<ErasureResult> {
    const { db, ledger, documents } = this.deps;
    const { pseudonym, record } = await requirePatientOwner(ctx, db, this.deps.patients, patientId);
    if (record.status !== 'erased') {
      const committed = await ledger.consentry.erasePatient(ctx.caller.ledgerUser, pseudonym);
      await settle(ctx, ledger.projection, committed.blockNumber);
    }
    const { rows } = await db.query<{ blob: string }>(
      `SELECT record ->> 'blob' AS blob FROM ledger_documents WHERE patient = $1
       UNION SELECT blob_key FROM binaries WHERE patient = $1
       UNION SELECT b.blob_key FROM binaries b JOIN users u ON u.username = b.uploader WHERE u.pseudonym = $1 AND b.document_id IS NULL`,
      [pseudonym],
    );
    const contentBlobs = rows.map((r) => r.blob).filter((b) => b.startsWith('documents/'));
    await forEachBounded(contentBlobs, PARALLEL_DELETES, (blob) => documents.deleteDocument(blob));
    // whatever else lies under the patient's prefixes: keys of an interrupted upload or rotation, shared demographics
    const rest: string[] = [];
    for (const prefix of [`documents/${pseudonym}/`, `patients/${pseudonym}/`]) {
      for await (const item of documents.blobs.list(prefix)) rest.push(item.key);
    }
    await forEachBounded(rest, PARALLEL_DELETES, (key) => documents.blobs.delete(key));
    await db.transaction(async (tx) => {
      await tx.query('DELETE FROM grantee_key_tasks WHERE patient = $1', [pseudonym]);
      // the row stays (the local id still names the patient's audit history); the secret that made the pseudonym does not
      await tx.query(`UPDATE patient_pseudonyms SET secret = '' WHERE pseudonym = $1`, [pseudonym]);
    });
    return { pseudonym, documents: contentBlobs.length, otherBlobs: rest.length };
  }
}
