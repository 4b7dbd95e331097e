import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import type { DocumentMeta } from '../../chaincode/src/records.js';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import type { Database } from '../db/database.js';
import type { AccessDecisions } from '../decisions/access.js';
import { DocumentStore } from '../documents/index.js';
import type { RequestContext } from '../fhir/context.js';
import { documentMetaToDocumentReference, documentReferenceToInput } from '../fhir/mapping/index.js';
import { badRequest, FhirError, forbidden, notFound, preconditionFailed, unprocessable } from '../fhir/outcome.js';
import type { Interaction, LedgerTransactional, PreparedLedgerWrite, ResourceRepository, SearchParamDef, SearchResult } from '../fhir/repository.js';
import type { Resource } from '../fhir/resource.js';
import type { SearchRequest } from '../fhir/search/request.js';
import type { LedgerClient } from '../ledger/index.js';
import type { HospitalDirectory } from '../membership/directory.js';
import type { PatientDirectory } from '../membership/patients.js';
import { QueryCache } from '../db/query-cache.js';
import { logReads, logSearch } from './access-log.js';
import type { GranteeKeys } from './grantee-keys.js';
import type { KeyHolders } from './key-holders.js';
import { decideAt, settle } from './ledger-read.js';
import { nextPermissionBoundary } from './permission-boundaries.js';
import { anyOf, dateOnInstant, orderBy, SqlWhere, tokenCode } from './sql-search.js';

export interface DocumentRow {
  record: DocumentMeta;
  block_number: number;
  tx_id: string;
  updated_at: Date | string;
  version: number;
  /** the patient's local Patient id; null when enrolled elsewhere (then the pseudonym is the id here) */
  patient_local_id?: string | null;
  /** for the read log */
  log_patient: string;
  log_id: string;
}

// a document row with what its FHIR form and the read log need, in one lookup
const ROW_COLUMNS = 'd.record, d.block_number, d.tx_id, d.updated_at, d.version, pp.patient_id AS patient_local_id, d.patient AS log_patient, d.id AS log_id';
const ROW_SOURCE = 'FROM ledger_documents d LEFT JOIN patient_pseudonyms pp ON pp.pseudonym = d.patient';

const SEARCH_PARAMS: SearchParamDef[] = [
  { name: 'patient', type: 'reference', documentation: 'Who the document is about' },
  { name: 'subject', type: 'reference', documentation: 'Who the document is about' },
  { name: 'category', type: 'token', documentation: 'Data category (Consentry CodeSystem)' },
  { name: 'type', type: 'token', documentation: 'LOINC document type' },
  { name: 'date', type: 'date', documentation: 'When the document was added to the ledger' },
  { name: 'author', type: 'reference', documentation: 'Who added the document' },
  { name: 'status', type: 'token', documentation: 'current | superseded | entered-in-error' },
  { name: '_lastUpdated', type: 'date', documentation: 'Last ledger write of the document metadata' },
  { name: '_id', type: 'token', documentation: 'The document id' },
];

const SORT_COLUMNS = { _lastUpdated: 'd.updated_at', date: 'd.created_at' };
const STATUS_OF_FHIR: Record<string, string> = { current: 'current', superseded: 'superseded', 'entered-in-error': 'entered-in-error' };
const MAX_INLINE_BYTES = 8 * 1024 * 1024;

/** DocumentReference = DocumentMeta on the ledger; content is an encrypted blob read through Binary. */
export class DocumentReferenceRepository implements ResourceRepository, LedgerTransactional {
  readonly resourceType = 'DocumentReference';
  readonly interactions: readonly Interaction[] = ['read', 'search-type', 'create', 'update'];
  readonly searchParams = SEARCH_PARAMS;
  readonly sortParams = ['date'];
  /** update only changes the status of an existing document */
  readonly updateCreate = false;

  constructor(
    private readonly db: Database,
    private readonly ledger: LedgerClient,
    private readonly decisions: AccessDecisions,
    private readonly documents: DocumentStore,
    private readonly keys: KeyHolders,
    private readonly patients: PatientDirectory,
    private readonly hospitals: HospitalDirectory,
    private readonly granteeKeys?: GranteeKeys,
  ) {}

  /** The caller's readable document of that id, or undefined — a hidden one looks exactly like a missing one. */
  async readableRow(ctx: RequestContext, id: string): Promise<DocumentRow | undefined> {
    decideAt(ctx, this.ledger.projection);
    const where = this.readableWhere(ctx);
    where.add(`d.id = ${where.param(id)}`);
    const { rows } = await this.db.query<DocumentRow>(`SELECT ${ROW_COLUMNS} ${ROW_SOURCE} WHERE ${where.toSql()}`, where.params);
    return rows[0];
  }

  async read(ctx: RequestContext, id: string): Promise<Resource> {
    decideAt(ctx, this.ledger.projection);
    const where = this.readableWhere(ctx);
    where.add(`d.id = ${where.param(id)}`);
    const found = await this.cachedRead(ctx, `SELECT ${ROW_COLUMNS} ${ROW_SOURCE} WHERE ${where.toSql()}`, where.params, async (rows) => ({ rows, total: rows.length }));
    if (found.rows.length === 0) throw notFound('DocumentReference', id);
    await logReads(this.db, ctx, [{ patient: found.rows[0].log_patient, resourceType: 'DocumentReference', resourceId: found.rows[0].log_id, action: 'read' }]);
    return found.resources[0];
  }

  /** One statement per page: the matches with the total over all pages. */
  async search(ctx: RequestContext, request: SearchRequest): Promise<SearchResult> {
    decideAt(ctx, this.ledger.projection);
    const where = this.readableWhere(ctx);
    for (const param of request.params) await this.addCondition(where, param);
    const order = orderBy(request.sort, SORT_COLUMNS, 'd.patient, d.id');
    const select = `SELECT ${ROW_COLUMNS}, count(*) OVER () AS total ${ROW_SOURCE} WHERE ${where.toSql()} ORDER BY ${order} LIMIT ${request.count} OFFSET ${request.offset}`;
    const found = await this.cachedRead<DocumentRow & { total: number }>(ctx, select, where.params, async (rows) => {
      let total = rows.length > 0 ? Number(rows[0].total) : 0;
      // an empty page says nothing about the total unless it is the first page of a non-zero _count
      if (rows.length === 0 && (request.offset > 0 || request.count === 0) && !request.totalNone) {
        total = (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n ${ROW_SOURCE} WHERE ${where.toSql()}`, where.params)).rows[0].n;
      }
      return { rows, total };
    });
    await logSearch(this.db, ctx, 'DocumentReference', found.rows.map((r) => ({ patient: r.log_patient, id: r.log_id })));
    return { resources: [...found.resources], total: request.totalNone ? found.resources.length : found.total };
  }

  /**
   * Runs a select of readable rows (and what `finish` adds) unless the same caller ran the same select since
   * the replica last changed and before any permission started or ended; the rows' FHIR forms are kept too.
   */
  private async cachedRead<Row extends DocumentRow>(
    ctx: RequestContext,
    sql: string,
    params: unknown[],
    finish: (rows: Row[]) => Promise<{ rows: Row[]; total: number }>,
  ): Promise<{ rows: Row[]; total: number; resources: Resource[] }> {
    const cache = this.db.cache;
    const nowMs = ctx.now.getTime();
    // no ledger height in the key: a block that changes what is readable moves the cache's epoch (change-feed.ts),
    // and one that only anchors the read log changes nothing here
    const key = `DocumentReference ${sql} ${QueryCache.paramsKey(params, ctx.now)}`;
    return cache.get(
      key,
      async () => {
        const validUntilMs = await nextPermissionBoundary(this.db, cache, nowMs);
        const { rows, total } = await finish((await this.db.query<Row>(sql, params)).rows);
        const resources: Resource[] = [];
        for (const row of rows) resources.push(await this.toResource(ctx, row));
        return { value: { rows, total, resources }, validUntilMs };
      },
      nowMs,
    );
  }

  /** Documents the caller may read now (DESIGN §5), not erased. */
  private readableWhere(ctx: RequestContext): SqlWhere {
    const where = new SqlWhere();
    where.add(`d.status <> 'erased'`);
    where.addNumbered((first) => this.decisions.readableDocumentsSql(ctx.caller, ctx.now, first));
    return where;
  }

  async create(ctx: RequestContext, resource: Resource): Promise<Resource> {
    const prepared = await this.prepareCreate(ctx, resource);
    try {
      const committed = await this.ledger.transactions.submit(ctx.caller.ledgerUser, prepared.op.fn, prepared.op.args);
      await settle(ctx, this.ledger.projection, committed.blockNumber);
    } catch (err) {
      await prepared.compensate?.().catch(() => undefined); // the sweep removes it if this fails too
      throw err;
    }
    return (await prepared.respond()).resource!;
  }

  /** Checks the write, stores the encrypted content, and returns the AddDocument operation (not yet submitted). */
  async prepareCreate(ctx: RequestContext, resource: Resource): Promise<PreparedLedgerWrite> {
    const subjectRef = ((resource.subject as { reference?: string } | undefined)?.reference ?? '').trim();
    const pseudonym = subjectRef ? await this.patients.pseudonymOf(subjectRef) : undefined;
    const input = documentReferenceToInput(resource, { resolvePatient: (ref) => (ref === subjectRef ? pseudonym : undefined), baseUrl: ctx.baseUrl });
    decideAt(ctx, this.ledger.projection);
    const mayWrite = ctx.caller.role === 'patient' ? ctx.caller.pseudonym === input.patient : await this.decisions.allowed(ctx.caller, input.patient, 'write', input.category, ctx.now);
    if (!mayWrite) throw forbidden(`no ledger permission lets ${ctx.caller.fhirUser} add ${input.category} documents for this patient`);
    this.requireCallerAsAuthor(ctx, resource);
    if (input.supersedes && !(await this.readableRow(ctx, input.supersedes))) {
      throw unprocessable(`relatesTo.target DocumentReference/${input.supersedes} is not a document of this patient that you can read`, ['DocumentReference.relatesTo[0].target']);
    }

    let documentId: string;
    let stored: { blobKey: string; ciphertextSha256: string; size: number };
    let compensate: (() => Promise<void>) | undefined;
    // who the data key was wrapped for before the ledger write; readers that changed meanwhile are fixed after it
    let wrappedFor: string[] = [];
    if (input.inlineData) {
      if (input.inlineData.length > MAX_INLINE_BYTES) throw new FhirError(413, 'too-long', `inline attachment.data over ${MAX_INLINE_BYTES} bytes: upload a Binary first`);
      documentId = crypto.randomUUID();
      const recipients = await this.keys.recipientsFor(input.patient, input.category, ctx.caller);
      wrappedFor = recipients.map((r) => r.id);
      const blob = await this.documents.storeDocument({ patient: input.patient, documentId, content: Readable.from([input.inlineData]), recipients });
      stored = blob;
      compensate = () => this.documents.deleteDocument(blob.blobKey);
    } else if (input.binaryId) {
      const binary = await this.stagedBinary(ctx, input.binaryId);
      if (input.declaredSize !== undefined && input.declaredSize !== Number(binary.size)) throw unprocessable(`attachment.size ${input.declaredSize} differs from Binary/${binary.id} (${binary.size} bytes)`, ['DocumentReference.content[0].attachment.size']);
      documentId = binary.id;
      stored = { blobKey: binary.blob_key, ciphertextSha256: binary.ciphertext_sha256, size: Number(binary.size) };
      const uploaderKey = await this.keys.privateFor(this.documents, { blob: binary.blob_key, patient: input.patient, author: ctx.caller.ledgerId, id: binary.id } as DocumentMeta, ctx.caller);
      for (const r of await this.keys.recipientsFor(input.patient, input.category, ctx.caller)) {
        if (!(await this.documents.hasRecipient(binary.blob_key, r.id))) await this.documents.addRecipient(binary.blob_key, uploaderKey, r);
        wrappedFor.push(r.id);
      }
    } else {
      throw badRequest('a DocumentReference needs content: attachment.data or attachment.url = Binary/<id>');
    }
    const meta = { id: documentId, patient: input.patient, category: input.category, type: input.type, blob: stored.blobKey, ciphertextSha256: stored.ciphertextSha256, size: stored.size, contentType: input.contentType };
    const op = input.supersedes
      ? { fn: 'SupersedeDocument', args: [input.patient, input.supersedes, JSON.stringify(meta)] }
      : { fn: 'AddDocument', args: [JSON.stringify(meta)] };
    return {
      op,
      compensate,
      respond: async () => {
        if (input.binaryId) await this.db.query('UPDATE binaries SET document_id = $1, patient = $2 WHERE id = $1', [documentId, input.patient]);
        await this.granteeKeys?.afterDocumentAdded({ ...meta, author: ctx.caller.ledgerId }, ctx.caller, wrappedFor);
        const created = await this.read(ctx, documentId);
        return { status: '201', resource: created, location: `DocumentReference/${documentId}/_history/${created.meta?.versionId}` };
      },
    };
  }

  /** Only the status may change (superseded via a replacing create; entered-in-error here). */
  async update(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }> {
    const row = await this.readableRow(ctx, id);
    if (!row) throw notFound('DocumentReference', id);
    if (opts.ifMatch && opts.ifMatch !== String(row.version)) throw preconditionFailed(`DocumentReference/${id} is at version ${row.version}, not ${opts.ifMatch}`);
    const status = resource.status;
    if (status === STATUS_OF_FHIR[row.record.status]) return { resource: await this.toResource(ctx, row), created: false };
    if (status !== 'entered-in-error') throw unprocessable('only a change of status to entered-in-error is accepted here; supersede by creating a DocumentReference with relatesTo.replaces', ['DocumentReference.status']);
    const committed = await this.ledger.consentry.setDocumentStatus(ctx.caller.ledgerUser, row.record.patient, id, 'entered-in-error');
    await settle(ctx, this.ledger.projection, committed.blockNumber);
    return { resource: await this.read(ctx, id), created: false };
  }

  /** The author is whoever adds the document (the ledger records the caller); a different one is refused, not replaced. */
  private requireCallerAsAuthor(ctx: RequestContext, resource: Resource): void {
    const authors = (resource.author as { reference?: string }[] | undefined) ?? [];
    const own = [ctx.caller.fhirUser, `${ctx.baseUrl}/${ctx.caller.fhirUser}`];
    if (authors.length > 1 || authors.some((a) => !own.includes(a.reference ?? ''))) {
      throw unprocessable(`DocumentReference.author must be the authenticated user (${ctx.caller.fhirUser}) or absent: the ledger records who adds a document`, ['DocumentReference.author']);
    }
  }

  private async stagedBinary(ctx: RequestContext, id: string) {
    const { rows } = await this.db.query<{ id: string; blob_key: string; ciphertext_sha256: string; size: number; uploader: string; document_id: string | null }>('SELECT * FROM binaries WHERE id = $1', [id]);
    const binary = rows[0];
    if (!binary || binary.uploader !== ctx.caller.username) throw unprocessable(`Binary/${id} is not an upload of yours`, ['DocumentReference.content[0].attachment.url']);
    if (binary.document_id) throw unprocessable(`Binary/${id} already belongs to a DocumentReference`, ['DocumentReference.content[0].attachment.url']);
    return binary;
  }

  private async addCondition(where: SqlWhere, param: SearchRequest['params'][number]): Promise<void> {
    switch (param.name) {
      case '_id':
        return anyOf(where, param, (v) => `d.id = ${where.param(v)}`);
      case 'patient':
      case 'subject': {
        const pseudonyms = await Promise.all(param.values.map((v) => this.patients.pseudonymOf(v)));
        return anyOf(where, { ...param, values: pseudonyms.map((p) => p ?? '') }, (p) => (p ? `d.patient = ${where.param(p)}` : 'FALSE'));
      }
      case 'category':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, [DATA_CATEGORY_SYSTEM]);
          return code ? `d.category = ${where.param(code)}` : 'FALSE';
        });
      case 'type':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, ['http://loinc.org']);
          return code ? `d.type = ${where.param(code)}` : 'FALSE';
        });
      case 'status':
        return anyOf(where, param, (v) => (STATUS_OF_FHIR[v] ? `d.status = ${where.param(STATUS_OF_FHIR[v])}` : 'FALSE'));
      case 'author':
        return anyOf(where, param, (v) => {
          const ledgerId = this.hospitals.ledgerIdForReference(v);
          return ledgerId ? `d.author = ${where.param(ledgerId)}` : 'FALSE';
        });
      case 'date':
        return dateOnInstant(where, param, 'd.created_at');
      case '_lastUpdated':
        return dateOnInstant(where, param, 'd.updated_at');
      default:
        throw badRequest(`search parameter ${param.name} is not supported on DocumentReference`);
    }
  }

  async toResource(ctx: RequestContext, row: DocumentRow): Promise<Resource> {
    const meta = row.record;
    const patientId = row.patient_local_id !== undefined ? (row.patient_local_id ?? meta.patient) : await this.patients.localIdOf(meta.patient);
    const authorReference = /\/Practitioner\//.test(meta.author)
      ? this.hospitals.referenceForLedgerId(meta.author)
      : `Patient/${meta.author === meta.patient ? patientId : await this.patients.localIdOf(meta.author)}`;
    return documentMetaToDocumentReference(meta, {
      patientId,
      authorReference,
      versionId: String(row.version),
      lastUpdated: new Date(row.updated_at).toISOString(),
      txId: row.tx_id,
      blockNumber: Number(row.block_number),
      baseUrl: ctx.baseUrl,
    }) as unknown as Resource;
  }
}
