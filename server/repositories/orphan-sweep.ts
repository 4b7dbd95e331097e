import type { Queryable } from '../db/database.js';
import type { DocumentStore } from '../documents/index.js';

export const ORPHAN_AGE_MS = 24 * 3600_000;

/**
 * Removes encrypted blobs no ledger document references: what is left when a server dies between
 * storing a blob and its ledger write (a failed write is compensated at once). Unbound Binary uploads
 * are kept for a day so a client can still reference them. The ledger replica knows every document of
 * every hospital, so a shared blob store is safe to sweep from any node.
 */
export async function sweepOrphanBlobs(db: Queryable, documents: DocumentStore, olderThanMs = ORPHAN_AGE_MS) {
  const result = await documents.sweepOrphans({
    olderThanMs,
    isReferenced: async (blobKey) => {
      const { rows } = await db.query(
        `SELECT 1 FROM ledger_documents WHERE record->>'blob' = $1
         UNION ALL SELECT 1 FROM binaries WHERE blob_key = $1 AND (document_id IS NOT NULL OR created_at > now() - make_interval(secs => $2::double precision / 1000))
         LIMIT 1`,
        [blobKey, olderThanMs],
      );
      return rows.length > 0;
    },
  });
  if (result.removed.length) {
    await db.query(`DELETE FROM binaries WHERE document_id IS NULL AND blob_key = ANY ($1)`, [result.removed]);
  }
  return result;
}
