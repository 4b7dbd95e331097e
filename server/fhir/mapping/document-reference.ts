// DocumentReference ↔ ledger DocumentMeta (DESIGN §4). Pure functions.
//
// Choices (also in profiles/README.md):
// - status: current and superseded as on the ledger; entered-in-error and erased → entered-in-error
//   (R4 has nothing closer for "destroyed"); the exact ledger status is in ledger-document-status.
// - content[0].attachment.url is Binary/<document id> (absolute under baseUrl when given); the
//   ciphertext SHA-256 is an extension of the attachment. attachment.hash (SHA-1 of the plaintext) is
//   omitted: the ledger does not know it. size is omitted above R4's unsignedInt range (2 GiB - 1).
import { createHash } from 'node:crypto';
import type { DocumentReference, Extension } from '@medplum/fhirtypes';
import type { DocumentMeta } from '../../../chaincode/src/records.js';
import { DATA_CATEGORY_SYSTEM, dataCategories, EXTENSION, PROFILE } from '../../../profiles/index.js';
import { MAX_UNSIGNED_INT, SYSTEM } from './codes.js';
import { asObject, codings, extensions, list, objects, present, str, type Json } from './json.js';
import { ruleError } from './rules.js';

export interface DocumentMetaToDocumentReferenceContext {
  /** the FHIR Patient id at this hospital */
  patientId: string;
  /** e.g. "Practitioner/ryu" or "Patient/123" */
  authorReference: string;
  versionId: string;
  lastUpdated: string;
  txId: string;
  blockNumber: number;
  /** the server's FHIR base URL; attachment.url is absolute when given */
  baseUrl?: string;
}

const STATUS_OF_LEDGER: Record<DocumentMeta['status'], NonNullable<DocumentReference['status']>> = {
  current: 'current',
  superseded: 'superseded',
  'entered-in-error': 'entered-in-error',
  erased: 'entered-in-error',
};

export function documentMetaToDocumentReference(meta: DocumentMeta, ctx: DocumentMetaToDocumentReferenceContext): DocumentReference {
  const display = dataCategories().find((c) => c.code === meta.category)?.display ?? meta.category;
  const binary = `Binary/${meta.id}`;
  const attachmentExtension: Extension[] = [{ url: EXTENSION.ciphertextSha256, valueString: meta.ciphertextSha256 }];
  return {
    resourceType: 'DocumentReference',
    id: meta.id,
    meta: {
      versionId: ctx.versionId,
      lastUpdated: ctx.lastUpdated,
      source: `urn:consentry:tx:${ctx.txId}`,
      profile: [PROFILE.documentReference],
    },
    extension: [
      { url: EXTENSION.ledgerTxId, valueString: ctx.txId },
      { url: EXTENSION.ledgerBlockNumber, valueUnsignedInt: ctx.blockNumber },
      { url: EXTENSION.ledgerDocumentStatus, valueCode: meta.status },
    ],
    status: STATUS_OF_LEDGER[meta.status],
    docStatus: 'final',
    type: { coding: [{ system: SYSTEM.loinc, code: meta.type }] },
    category: [{ coding: [{ system: DATA_CATEGORY_SYSTEM, code: meta.category, display }] }],
    subject: { reference: `Patient/${ctx.patientId}` },
    date: meta.createdAt,
    author: [{ reference: ctx.authorReference }],
    ...(meta.supersedes
      ? { relatesTo: [{ code: 'replaces' as const, target: { reference: `DocumentReference/${meta.supersedes}` } }] }
      : {}),
    content: [
      {
        attachment: {
          extension: attachmentExtension,
          contentType: meta.contentType,
          url: ctx.baseUrl ? `${ctx.baseUrl.replace(/\/+$/, '')}/${binary}` : binary,
          ...(meta.size <= MAX_UNSIGNED_INT ? { size: meta.size } : {}),
        },
      },
    ],
  };
}

/** What a DocumentReference create asks for: the ledger terms, and where the content comes from. */
export interface DocumentReferenceInput {
  /** the ledger pseudonym of the subject */
  patient: string;
  category: string;
  /** LOINC code */
  type: string;
  contentType: string;
  /** the decoded attachment.data, when the content is inline */
  inlineData?: Buffer;
  /** the id of a Binary created first, when attachment.url points to one */
  binaryId?: string;
  /** attachment.size as declared, for the router to check against a Binary (inline data is checked here) */
  declaredSize?: number;
  /** attachment.hash (base64 SHA-1 of the content) as declared, likewise */
  declaredSha1?: string;
  /** the id of the DocumentReference this one replaces */
  supersedes?: string;
}

export interface DocumentReferenceToInputContext {
  /** the ledger pseudonym of the patient a "Patient/<id>" reference names, or undefined */
  resolvePatient(reference: string): string | undefined;
  /** the server's FHIR base URL: absolute attachment URLs are accepted only below it */
  baseUrl?: string;
}

const UNSUPPORTED_ELEMENTS = [
  'identifier', 'masterIdentifier', 'implicitRules', 'contained', 'modifierExtension', 'authenticator', 'custodian',
  'description', 'securityLabel', 'context',
];
const LOINC_CODE = /^\d{1,8}-\d$/;
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(?:\s*;[\x20-\x7e]{0,200})?$/;
const BINARY_PATH = /^Binary\/([-A-Za-z0-9.]{1,64})$/;
const REPLACED = /^DocumentReference\/([-A-Za-z0-9.]{1,64})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads a DocumentReference from a client (create) into ledger terms and the content's source, or throws
 * a FhirRuleError naming the first rule it breaks (cdr-*). Server-set parts (meta, date, author, ledger
 * extensions) are ignored.
 */
export function documentReferenceToInput(resource: unknown, ctx: DocumentReferenceToInputContext): DocumentReferenceInput {
  const d = asObject(resource);
  const fail = (key: string, at: string, specifics?: string) => ruleError(PROFILE.documentReference, key, at, specifics);
  if (!d || d.resourceType !== 'DocumentReference') throw fail('cdr-0', 'DocumentReference');

  const unsupported = UNSUPPORTED_ELEMENTS.find((k) => present(d[k]));
  if (unsupported) throw fail('cdr-1', `DocumentReference.${unsupported}`);
  if (d.status !== 'current') throw fail('cdr-w1', 'DocumentReference.status', `got ${JSON.stringify(d.status)}`);
  if (d.docStatus !== undefined && d.docStatus !== 'final') throw fail('cdr-8', 'DocumentReference.docStatus');

  const known = new Set(dataCategories().map((c) => c.code));
  const ours = list(d.category).flatMap((cc) => codings(cc)).filter((c) => c.system === DATA_CATEGORY_SYSTEM);
  if (ours.length !== 1 || !known.has(ours[0].code ?? '')) throw fail('cdr-2', 'DocumentReference.category');
  const loinc = codings(d.type).filter((c) => c.system === SYSTEM.loinc);
  if (loinc.length !== 1 || !LOINC_CODE.test(loinc[0].code ?? '')) throw fail('cdr-3', 'DocumentReference.type');

  const subject = str(asObject(d.subject)?.reference);
  if (subject === undefined || !/^Patient\/[-A-Za-z0-9.]{1,64}$/.test(subject)) throw fail('cdr-4', 'DocumentReference.subject');
  const patient = ctx.resolvePatient(subject);
  if (patient === undefined) throw fail('cdr-w2', 'DocumentReference.subject', `"${subject}" is not known`);

  const contents = list(d.content);
  const content = asObject(contents[0]);
  const attachment = asObject(content?.attachment);
  if (contents.length !== 1 || !attachment || !present(attachment.contentType)) throw fail('cdr-5', 'DocumentReference.content');
  if (present(content?.modifierExtension)) throw fail('cdr-1', 'DocumentReference.content[0].modifierExtension');
  const contentType = str(attachment.contentType);
  if (contentType === undefined || !CONTENT_TYPE.test(contentType)) {
    throw fail('cdr-w5', 'DocumentReference.content[0].attachment.contentType');
  }
  const hashes = extensions(attachment, EXTENSION.ciphertextSha256);
  if (!hashes.every((e) => typeof e.valueString === 'string' && /^[0-9a-f]{64}$/.test(e.valueString))) {
    throw fail('cdr-9', 'DocumentReference.content[0].attachment.extension');
  }
  const statuses = extensions(d, EXTENSION.ledgerDocumentStatus);
  if (!statuses.every((e) => ['current', 'superseded', 'entered-in-error', 'erased'].includes(e.valueCode as string))) {
    throw fail('cdr-9', 'DocumentReference.extension');
  }

  const input: DocumentReferenceInput = { patient, category: ours[0].code as string, type: loinc[0].code as string, contentType };
  readContentSource(attachment, ctx, fail, input);
  const supersedes = readRelatesTo(d, fail);
  if (supersedes !== undefined) input.supersedes = supersedes;
  return input;
}

type Fail = (key: string, at: string, specifics?: string) => Error;

function readContentSource(attachment: Json, ctx: DocumentReferenceToInputContext, fail: Fail, input: DocumentReferenceInput): void {
  const at = 'DocumentReference.content[0].attachment';
  const hasData = present(attachment.data);
  const url = str(attachment.url);
  if (hasData === present(attachment.url)) throw fail('cdr-6', at, hasData ? 'both data and url' : 'neither data nor url');
  const size = attachment.size;
  const hash = attachment.hash;
  if (hasData) {
    const data = str(attachment.data);
    if (data === undefined || !BASE64.test(data)) throw fail('cdr-w3', `${at}.data`);
    const bytes = Buffer.from(data, 'base64');
    if (size !== undefined && size !== bytes.length) throw fail('cdr-w6', `${at}.size`, `the data has ${bytes.length} bytes`);
    if (hash !== undefined && hash !== createHash('sha1').update(bytes).digest('base64')) throw fail('cdr-w7', `${at}.hash`);
    input.inlineData = bytes;
    return;
  }
  let path = url ?? '';
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    const base = ctx.baseUrl?.replace(/\/+$/, '');
    if (!base || !path.startsWith(`${base}/`)) throw fail('cdr-w4', `${at}.url`, `got ${JSON.stringify(url)}`);
    path = path.slice(base.length + 1);
  }
  const m = BINARY_PATH.exec(path);
  if (!m) throw fail('cdr-6', `${at}.url`, `got ${JSON.stringify(url)}`);
  input.binaryId = m[1];
  if (typeof size === 'number') input.declaredSize = size;
  if (typeof hash === 'string') input.declaredSha1 = hash;
}

function readRelatesTo(d: Json, fail: Fail): string | undefined {
  const relations = list(d.relatesTo);
  if (relations.length === 0) return undefined;
  const relation = objects(relations)[0];
  const target = str(asObject(relation?.target)?.reference);
  const m = target === undefined ? null : REPLACED.exec(target);
  if (relations.length > 1 || relation?.code !== 'replaces' || !m) throw fail('cdr-7', 'DocumentReference.relatesTo');
  if (present(relation.modifierExtension)) throw fail('cdr-1', 'DocumentReference.relatesTo[0].modifierExtension');
  return m[1];
}
