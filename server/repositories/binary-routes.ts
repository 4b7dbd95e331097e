import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type express from 'express';
import type { Request, Response } from 'express';
import type { Database } from '../db/database.js';
import { ContentTooLargeError, DocumentStore } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import { sendResource } from '../fhir/http/respond.js';
import { FhirError, notFound } from '../fhir/outcome.js';
import { ctxOf } from '../fhir/router.js';
import { logRead } from './access-log.js';
import type { DocumentReferenceRepository } from './document-repository.js';
import type { KeyHolders } from './key-holders.js';
import type { PatientDirectory } from './../membership/patients.js';

const STAGING = 'staged';
const MAX_BINARY_BYTES = 16 * 1024 ** 3;
const CONTENT_TYPE_RE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(?:\s*;[\x20-\x7e]{0,200})?$/;

/**
 * Binary: raw content streamed in (any Content-Type, up to several GiB) and out, encrypted at rest.
 * Downloads are served only after the ledger allowed the reader and the ciphertext hash matched the ledger.
 */
export function binaryRoutes(deps: { db: Database; documents: DocumentStore; keys: KeyHolders; docs: DocumentReferenceRepository; patients: PatientDirectory }) {
  const { db, documents, keys, docs } = deps;
  return (router: express.Router) => {
    router.post('/Binary', (req, res, next) => upload(req, res, ctxOf(req)).catch(next));
    router.get('/Binary/:id', (req, res, next) => download(req, res, ctxOf(req)).catch(next));
  };

  async function upload(req: Request, res: Response, ctx: RequestContext) {
    const contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
    if (!CONTENT_TYPE_RE.test(contentType)) throw new FhirError(400, 'invalid', `"${contentType}" is not a media type`);
    if (/^application\/(fhir\+)?json/.test(contentType)) throw new FhirError(415, 'not-supported', 'send the raw content with its own Content-Type; FHIR JSON Binary resources are not accepted here');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BINARY_BYTES) throw new FhirError(413, 'too-long', `Binary over ${MAX_BINARY_BYTES} bytes`);
    const id = crypto.randomUUID();
    // not yet anybody's document: only the uploader holds a key until a DocumentReference binds it
    const recipients = await keys.recipientsFor(ctx.caller.ledgerId, undefined, ctx.caller);
    let stored;
    try {
      stored = await documents.storeDocument({ patient: STAGING, documentId: id, content: req, recipients, maxBytes: MAX_BINARY_BYTES });
    } catch (err) {
      if (err instanceof ContentTooLargeError) throw new FhirError(413, 'too-long', err.message);
      throw err;
    }
    await db.query('INSERT INTO binaries (id, blob_key, uploader, content_type, size, ciphertext_sha256) VALUES ($1, $2, $3, $4, $5, $6)', [id, stored.blobKey, ctx.caller.username, contentType, stored.size, stored.ciphertextSha256]);
    sendResource(res, ctx, 201, { resourceType: 'Binary', id, contentType, meta: { versionId: '1', lastUpdated: new Date().toISOString() } }, { location: `${ctx.baseUrl}/Binary/${id}` });
  }

  async function download(req: Request, res: Response, ctx: RequestContext) {
    const id = String(req.params.id);
    const row = await docs.readableRow(ctx, id);
    let opened;
    let contentType: string;
    if (row) {
      const meta = row.record;
      const recipient = await keys.privateFor(documents, meta, ctx.caller);
      opened = await documents.openDocument({ blobKey: meta.blob, expectedSha256: meta.ciphertextSha256, recipient });
      contentType = meta.contentType;
      await logRead(db, ctx, { patient: meta.patient, resourceType: 'Binary', resourceId: id, action: 'download' });
    } else {
      // an upload not yet bound to a DocumentReference: only its uploader sees it
      const { rows } = await db.query<{ blob_key: string; ciphertext_sha256: string; content_type: string; uploader: string; document_id: string | null }>('SELECT * FROM binaries WHERE id = $1', [id]);
      const staged = rows[0];
      if (!staged || staged.document_id || staged.uploader !== ctx.caller.username) throw notFound('Binary', id);
      opened = await documents.openDocument({ blobKey: staged.blob_key, expectedSha256: staged.ciphertext_sha256, recipient: await keys.privateFor(documents, { blob: staged.blob_key, patient: '', author: ctx.caller.ledgerId, id } as never, ctx.caller) });
      contentType = staged.content_type;
    }
    res.status(200);
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', String(opened.size));
    if (ctx.ledgerHeight !== undefined) res.setHeader('X-Ledger-Height', String(ctx.ledgerHeight));
    await pipeline(opened.stream, res);
  }
}
