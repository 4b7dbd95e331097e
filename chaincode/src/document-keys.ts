import type { ConsentContext } from './context.js';
import { denied, invalid, notFound } from './errors.js';
import { isHomeAdmin, isPatientSelf } from './identity.js';
import { requireActivePatient } from './patients.js';
import type { DocumentMeta } from './records.js';
import * as v from './validate.js';

/**
 * A document's data key was rotated (DESIGN §6): its content was re-encrypted under a fresh key into a new blob.
 * Same document id, category, author and plaintext size; only where the ciphertext lives and its hash change.
 * By the patient or an admin of their home hospital (which holds the patient's key, the only one that opens
 * every data key), on a document that is not erased.
 */
export async function rotateDocumentKey(
  ctx: ConsentContext,
  pseudonym: string,
  documentId: string,
  rotationJson: string,
): Promise<{ document: DocumentMeta; previousCiphertextSha256: string }> {
  const input = v.objectArg(rotationJson, 'rotation', ['blob', 'ciphertextSha256', 'size']);
  const blob = v.text(input.blob, 'blob', 1024);
  const ciphertextSha256 = v.hex64(input.ciphertextSha256, 'ciphertextSha256');
  const size = v.count(input.size, 'size');
  const patient = await requireActivePatient(ctx, v.id(pseudonym, 'patient'));
  const caller = ctx.caller;
  if (!isPatientSelf(caller, patient) && !isHomeAdmin(caller, patient)) {
    throw denied(`only patient ${patient.pseudonym} or an admin of ${patient.homeMsp} may rotate the keys of their documents`);
  }
  const existing = await ctx.store.get<DocumentMeta>('document', [patient.pseudonym, v.id(documentId, 'documentId')]);
  if (!existing) throw notFound(`document ${patient.pseudonym}/${documentId}`);
  if (existing.status === 'erased') throw invalid(`document ${documentId} is erased`);
  if (size !== existing.size) throw invalid(`size ${size} differs from the document's ${existing.size}: a key rotation keeps the content`);
  if (ciphertextSha256 === existing.ciphertextSha256) throw invalid('ciphertextSha256 is unchanged: a rotated key re-encrypts the content');
  if (blob === existing.blob) throw invalid('a rotated document goes to a new blob');
  const document: DocumentMeta = { ...existing, blob, ciphertextSha256 };
  await ctx.store.put('document', [patient.pseudonym, existing.id], document);
  const previousCiphertextSha256 = existing.ciphertextSha256;
  ctx.emit('DocumentKeyRotated', { document, previousCiphertextSha256 });
  return { document, previousCiphertextSha256 };
}
