import type { ConsentContext } from './context.js';
import { denied, invalid, notFound } from './errors.js';
import { isPatientSelf, practitionerId, type Caller } from './identity.js';
import { findPatient, requireActivePatient } from './patients.js';
import { patientPermissions } from './permissions.js';
import type { DocumentMeta, PatientRecord, Permission } from './records.js';
import { decide } from './rules.js';
import * as v from './validate.js';

const DOCUMENT_FIELDS = ['id', 'patient', 'category', 'type', 'blob', 'ciphertextSha256', 'size', 'contentType', 'supersedes'];

type DocumentInput = Omit<DocumentMeta, 'author' | 'authorMsp' | 'createdAt' | 'status'>;

function parseDocument(documentJson: string): DocumentInput {
  const input = v.objectArg(documentJson, 'document', DOCUMENT_FIELDS);
  return {
    id: v.id(input.id, 'id'),
    patient: v.id(input.patient, 'patient'),
    category: v.documentCategory(input.category),
    type: v.loinc(input.type, 'type'),
    blob: v.text(input.blob, 'blob', 1024),
    ciphertextSha256: v.hex64(input.ciphertextSha256, 'ciphertextSha256'),
    size: v.count(input.size, 'size'),
    contentType: v.contentType(input.contentType, 'contentType'),
    supersedes: input.supersedes === undefined ? undefined : v.id(input.supersedes, 'supersedes'),
  };
}

function isAuthor(caller: Caller, document: DocumentMeta): boolean {
  if (caller.mspId !== document.authorMsp) return false;
  if (practitionerId(caller) === document.author) return true;
  return caller.role === 'patient' && caller.pseudonym === document.author;
}

function hasRight(
  ctx: ConsentContext,
  patient: PatientRecord,
  permissions: readonly Permission[],
  right: 'read' | 'write',
  category: string,
): boolean {
  const practitioner = practitionerId(ctx.caller);
  if (practitioner === undefined) return false;
  return decide(patient, permissions, { kind: 'practitioner', id: practitioner }, right, category, ctx.nowMs).allowed;
}

/**
 * The patient writes any category; a practitioner needs `write` on the category at tx time.
 * Returns the ledger id the document is authored under.
 */
function requireWrite(ctx: ConsentContext, patient: PatientRecord, permissions: readonly Permission[], category: string): string {
  if (isPatientSelf(ctx.caller, patient)) return patient.pseudonym;
  const practitioner = practitionerId(ctx.caller);
  if (practitioner === undefined) {
    throw denied('only the patient or a practitioner with a write permission may add documents');
  }
  if (!hasRight(ctx, patient, permissions, 'write', category)) {
    throw denied(`${practitioner} holds no write permission on ${category} for patient ${patient.pseudonym}`);
  }
  return practitioner;
}

function canSee(ctx: ConsentContext, patient: PatientRecord, permissions: readonly Permission[], document: DocumentMeta): boolean {
  return (
    isPatientSelf(ctx.caller, patient) ||
    isAuthor(ctx.caller, document) ||
    hasRight(ctx, patient, permissions, 'read', document.category)
  );
}

async function findDocument(ctx: ConsentContext, pseudonym: string, documentId: string): Promise<DocumentMeta | undefined> {
  return ctx.store.get<DocumentMeta>('document', [pseudonym, v.id(documentId, 'documentId')]);
}

/** Checks the write right and the id, then stores the new document authored by the caller. */
async function insertDocument(
  ctx: ConsentContext,
  patient: PatientRecord,
  permissions: readonly Permission[],
  input: DocumentInput,
): Promise<DocumentMeta> {
  const author = requireWrite(ctx, patient, permissions, input.category);
  if (await findDocument(ctx, input.patient, input.id)) throw invalid(`document ${input.id} already exists`);
  const document: DocumentMeta = { ...input, author, authorMsp: ctx.caller.mspId, createdAt: ctx.now, status: 'current' };
  await ctx.store.put('document', [input.patient, input.id], document);
  return document;
}

export async function addDocument(ctx: ConsentContext, documentJson: string): Promise<DocumentMeta> {
  const input = parseDocument(documentJson);
  if (input.supersedes !== undefined) {
    return (await supersede(ctx, input.patient, input.supersedes, input)).document;
  }
  const patient = await requireActivePatient(ctx, input.patient);
  const document = await insertDocument(ctx, patient, await patientPermissions(ctx, input.patient), input);
  ctx.emit('DocumentAdded', { document });
  return document;
}

export async function supersedeDocument(
  ctx: ConsentContext,
  pseudonym: string,
  documentId: string,
  newDocumentJson: string,
): Promise<{ document: DocumentMeta; superseded: DocumentMeta }> {
  const input = parseDocument(newDocumentJson);
  if (input.patient !== pseudonym) throw invalid('the new document must belong to the same patient');
  if (input.supersedes !== undefined && input.supersedes !== documentId) {
    throw invalid('supersedes of the new document must name the document it replaces');
  }
  return supersede(ctx, pseudonym, v.id(documentId, 'documentId'), input);
}

/**
 * Adds the replacement (same rules as AddDocument) and marks the old document superseded. Replacing
 * needs the right to write the old document's category too, unless the caller wrote the old document.
 */
async function supersede(
  ctx: ConsentContext,
  pseudonym: string,
  documentId: string,
  input: DocumentInput,
): Promise<{ document: DocumentMeta; superseded: DocumentMeta }> {
  const patient = await requireActivePatient(ctx, pseudonym);
  const permissions = await patientPermissions(ctx, pseudonym);
  const old = await findDocument(ctx, pseudonym, documentId);
  if (!old || !canSee(ctx, patient, permissions, old)) throw notFound(`document ${pseudonym}/${documentId}`);
  if (old.status !== 'current') throw invalid(`document ${documentId} is ${old.status}, not current`);
  if (!isAuthor(ctx.caller, old)) requireWrite(ctx, patient, permissions, old.category);
  const document = await insertDocument(ctx, patient, permissions, { ...input, supersedes: documentId });
  const superseded: DocumentMeta = { ...old, status: 'superseded' };
  await ctx.store.put('document', [pseudonym, documentId], superseded);
  ctx.emit('DocumentSuperseded', { document, superseded });
  return { document, superseded };
}

/** Marks a document entered-in-error; by its author or the patient. */
export async function setDocumentStatus(
  ctx: ConsentContext,
  pseudonym: string,
  documentId: string,
  status: string,
): Promise<DocumentMeta> {
  if (status !== 'entered-in-error') throw invalid('status must be entered-in-error');
  const patient = await requireActivePatient(ctx, pseudonym);
  const existing = await findDocument(ctx, pseudonym, documentId);
  const permissions = await patientPermissions(ctx, pseudonym);
  if (!existing || !canSee(ctx, patient, permissions, existing)) throw notFound(`document ${pseudonym}/${documentId}`);
  if (!isPatientSelf(ctx.caller, patient) && !isAuthor(ctx.caller, existing)) {
    throw denied('only the author or the patient may change the status of a document');
  }
  if (existing.status !== 'current' && existing.status !== 'superseded') {
    throw invalid(`document ${documentId} is ${existing.status}`);
  }
  const document: DocumentMeta = { ...existing, status: 'entered-in-error' };
  await ctx.store.put('document', [pseudonym, documentId], document);
  ctx.emit('DocumentStatusChanged', { document, previousStatus: existing.status });
  return document;
}

/** Visible documents in key order: all to the patient, own ones to authors, by category to readers. */
export async function listDocuments(ctx: ConsentContext, pseudonym: string): Promise<DocumentMeta[]> {
  const patient = await findPatient(ctx, v.id(pseudonym, 'patient'));
  if (!patient) throw notFound(`patient ${pseudonym}`);
  const permissions = await patientPermissions(ctx, pseudonym);
  const documents = await ctx.store.list<DocumentMeta>('document', [pseudonym]);
  return documents.map((e) => e.value).filter((d) => canSee(ctx, patient, permissions, d));
}

/** A document the caller may not see answers exactly like one that does not exist. */
export async function getDocument(ctx: ConsentContext, pseudonym: string, documentId: string): Promise<DocumentMeta> {
  const patient = await findPatient(ctx, v.id(pseudonym, 'patient'));
  const document = patient ? await findDocument(ctx, pseudonym, documentId) : undefined;
  if (!patient || !document || !canSee(ctx, patient, await patientPermissions(ctx, pseudonym), document)) {
    throw notFound(`document ${pseudonym}/${documentId}`);
  }
  return document;
}
