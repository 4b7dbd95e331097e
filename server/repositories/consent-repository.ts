import crypto from 'node:crypto';
import type { Grantee, Permission } from '../../chaincode/src/records.js';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import type { Database } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { consentToPermissionInput, permissionToConsent } from '../fhir/mapping/index.js';
import { badRequest, forbidden, notFound, preconditionFailed } from '../fhir/outcome.js';
import type { Interaction, LedgerTransactional, PreparedLedgerWrite, ResourceRepository, SearchParamDef, SearchResult } from '../fhir/repository.js';
import type { Resource } from '../fhir/resource.js';
import type { SearchRequest } from '../fhir/search/request.js';
import type { LedgerClient } from '../ledger/index.js';
import type { HospitalDirectory } from '../membership/directory.js';
import type { PatientDirectory } from '../membership/patients.js';
import { visibleConsentsSql } from './consent-visibility.js';
import type { GranteeKeys } from './grantee-keys.js';
import { decideAt, settle } from './ledger-read.js';
import { anyOf, dateOnInstant, dateOnPeriod, orderBy, SqlWhere, tokenCode } from './sql-search.js';

interface PermissionRow {
  record: Permission;
  block_number: number;
  tx_id: string;
  updated_at: Date | string;
}

const SEARCH_PARAMS: SearchParamDef[] = [
  { name: 'patient', type: 'reference', documentation: 'Who the consent applies to' },
  { name: 'actor', type: 'reference', documentation: 'The grantee (provision.actor.reference)' },
  { name: 'status', type: 'token', documentation: 'active | inactive (revoked or ended)' },
  { name: 'date', type: 'date', documentation: 'When this version was written on the ledger (Consent.dateTime)' },
  { name: 'period', type: 'date', documentation: 'The permission period (provision.period)' },
  { name: 'category', type: 'token', documentation: 'LOINC 59284-0 (every Consent here)' },
  { name: 'scope', type: 'token', documentation: 'patient-privacy | research' },
  { name: 'data-category', type: 'token', documentation: 'A data category the permission covers' },
  { name: '_lastUpdated', type: 'date', documentation: 'When this version was written on the ledger' },
  { name: '_id', type: 'token', documentation: 'The Consent id (= the ledger permission id)' },
];

const SORT_COLUMNS = { _lastUpdated: 'lp.updated_at', date: 'lp.updated_at' };

/** Consent = a ledger Permission (DESIGN §4). Reads come from the projection, writes go through the chaincode. */
export class ConsentRepository implements ResourceRepository, LedgerTransactional {
  readonly resourceType = 'Consent';
  readonly interactions: readonly Interaction[] = ['read', 'vread', 'search-type', 'create', 'update', 'delete', 'history-instance'];
  readonly searchParams = SEARCH_PARAMS;
  readonly sortParams = ['date'];

  constructor(
    private readonly db: Database,
    private readonly ledger: LedgerClient,
    private readonly patients: PatientDirectory,
    private readonly hospitals: HospitalDirectory,
    /** wraps and deletes grantees' document keys after a grant, change or revoke (DESIGN §6) */
    private readonly granteeKeys?: GranteeKeys,
  ) {}

  async read(ctx: RequestContext, id: string): Promise<Resource> {
    const row = await this.visibleRow(ctx, id);
    if (!row) throw notFound('Consent', id);
    return this.toConsent(ctx, row.record, { blockNumber: row.block_number, txId: row.tx_id, lastUpdated: iso(row.updated_at) });
  }

  async vread(ctx: RequestContext, id: string, versionId: string): Promise<Resource> {
    const versions = await this.history(ctx, id);
    const found = versions.find((v) => v.meta?.versionId === versionId);
    if (!found) throw notFound('Consent', `${id}/_history/${versionId}`);
    return found;
  }

  async history(ctx: RequestContext, id: string): Promise<Resource[]> {
    const row = await this.visibleRow(ctx, id);
    if (!row) throw notFound('Consent', id);
    const entries = await this.ledger.consentry.getPermissionHistory(ctx.caller.ledgerUser, row.record.patient, id);
    const blocks = await this.blocksOf(entries.map((e) => e.txId));
    const out: Resource[] = [];
    for (const entry of entries) {
      if (entry.isDelete || !entry.value) continue;
      out.push(await this.toConsent(ctx, entry.value, { blockNumber: blocks.get(entry.txId) ?? row.block_number, txId: entry.txId, lastUpdated: entry.timestamp }));
    }
    return out;
  }

  async search(ctx: RequestContext, request: SearchRequest): Promise<SearchResult> {
    decideAt(ctx, this.ledger.projection);
    const where = new SqlWhere();
    where.addNumbered((first) => visibleConsentsSql(ctx.caller, first));
    for (const param of request.params) await this.addCondition(ctx, where, param);
    const sql = `FROM ledger_permissions lp WHERE ${where.toSql()}`;
    const total = request.totalNone ? -1 : (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`, where.params)).rows[0].n;
    const order = orderBy(request.sort, SORT_COLUMNS, 'lp.patient, lp.id');
    const page = await this.db.query<PermissionRow>(
      `SELECT lp.record, lp.block_number, lp.tx_id, lp.updated_at ${sql} ORDER BY ${order} LIMIT ${request.count} OFFSET ${request.offset}`,
      where.params,
    );
    const resources: Resource[] = [];
    for (const row of page.rows) resources.push(await this.toConsent(ctx, row.record, { blockNumber: row.block_number, txId: row.tx_id, lastUpdated: iso(row.updated_at) }));
    return { resources, total: total < 0 ? resources.length : total };
  }

  async create(ctx: RequestContext, resource: Resource): Promise<Resource> {
    const prepared = await this.prepareCreate(ctx, resource);
    return this.submitOne(ctx, prepared);
  }

  async update(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }> {
    const prepared = await this.prepareUpdate(ctx, id, resource, opts);
    const created = prepared.op.fn === 'GrantPermission';
    return { resource: await this.submitOne(ctx, prepared), created };
  }

  /** DELETE = revoke: the permission is written again with status revoked and `to` = now; history keeps it. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    await this.submitOne(ctx, await this.prepareDelete(ctx, id));
  }

  async prepareCreate(ctx: RequestContext, resource: Resource): Promise<PreparedLedgerWrite> {
    const input = await this.toPermissionInput(ctx, resource);
    this.requirePatientSelf(ctx, input.patient);
    return this.grantOp(ctx, { ...input, id: crypto.randomUUID() }, '201');
  }

  async prepareUpdate(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<PreparedLedgerWrite> {
    const input = await this.toPermissionInput(ctx, resource);
    this.requirePatientSelf(ctx, input.patient);
    const existing = await this.visibleRow(ctx, id);
    if (!existing) {
      if (opts.ifMatch) throw preconditionFailed(`Consent/${id} does not exist, so it cannot be at version ${opts.ifMatch}`);
      return this.grantOp(ctx, { ...input, id }, '201');
    }
    if (opts.ifMatch && opts.ifMatch !== String(existing.record.version)) {
      throw preconditionFailed(`Consent/${id} is at version ${existing.record.version}, not ${opts.ifMatch}`);
    }
    if (existing.record.patient !== input.patient) throw badRequest('a Consent cannot be moved to another patient', ['Consent.patient']);
    return {
      op: { fn: 'UpdatePermission', args: [JSON.stringify({ ...input, id })] },
      respond: async () => {
        await this.granteeKeys?.afterPermissionWrite(input.patient, [existing.record.grantee, input.grantee]);
        return { status: '200', resource: await this.read(ctx, id) };
      },
    };
  }

  async prepareDelete(ctx: RequestContext, id: string): Promise<PreparedLedgerWrite> {
    const existing = await this.visibleRow(ctx, id);
    if (!existing) throw notFound('Consent', id);
    this.requirePatientSelf(ctx, existing.record.patient);
    return {
      op: { fn: 'RevokePermission', args: [existing.record.patient, id] },
      respond: async () => {
        await this.granteeKeys?.afterPermissionWrite(existing.record.patient, [existing.record.grantee]);
        return { status: '200' };
      },
    };
  }

  private grantOp(ctx: RequestContext, permission: { id: string; patient: string; grantee: Grantee }, status: string): PreparedLedgerWrite {
    return {
      op: { fn: 'GrantPermission', args: [JSON.stringify(permission)] },
      respond: async () => {
        await this.granteeKeys?.afterPermissionWrite(permission.patient, [permission.grantee]);
        const resource = await this.read(ctx, permission.id);
        return { status, resource, location: `Consent/${permission.id}/_history/${resource.meta?.versionId}` };
      },
    };
  }

  /** Submits one prepared write on its own (not in a Bundle) and answers with the resource as now stored. */
  private async submitOne(ctx: RequestContext, prepared: PreparedLedgerWrite): Promise<Resource> {
    const committed = await this.ledger.transactions.submit(ctx.caller.ledgerUser, prepared.op.fn, prepared.op.args);
    await settle(ctx, this.ledger.projection, committed.blockNumber);
    const answer = await prepared.respond();
    return answer.resource ?? ({ resourceType: 'OperationOutcome' } as Resource);
  }

  private requirePatientSelf(ctx: RequestContext, pseudonym: string): void {
    if (ctx.caller.role !== 'patient' || ctx.caller.pseudonym !== pseudonym) {
      throw forbidden('only the patient can grant, change or revoke their consents');
    }
  }

  private async visibleRow(ctx: RequestContext, id: string): Promise<PermissionRow | undefined> {
    decideAt(ctx, this.ledger.projection);
    const where = new SqlWhere();
    where.add(`lp.id = ${where.param(id)}`);
    where.addNumbered((first) => visibleConsentsSql(ctx.caller, first));
    const { rows } = await this.db.query<PermissionRow>(`SELECT lp.record, lp.block_number, lp.tx_id, lp.updated_at FROM ledger_permissions lp WHERE ${where.toSql()}`, where.params);
    return rows[0];
  }

  private async addCondition(ctx: RequestContext, where: SqlWhere, param: SearchRequest['params'][number]): Promise<void> {
    switch (param.name) {
      case '_id':
        return anyOf(where, param, (v) => `lp.id = ${where.param(v)}`);
      case 'patient': {
        const pseudonyms = await Promise.all(param.values.map((v) => this.patients.pseudonymOf(v)));
        return anyOf(where, { ...param, values: pseudonyms.map((p) => p ?? '') }, (p) => (p ? `lp.patient = ${where.param(p)}` : 'FALSE'));
      }
      case 'actor':
        return anyOf(where, param, (v) => {
          const grantee = this.granteeOf(v);
          return grantee ? `(lp.grantee_kind = ${where.param(grantee.kind)} AND lp.grantee_id = ${where.param(grantee.id)})` : 'FALSE';
        });
      case 'status':
        return anyOf(where, param, (v) => {
          // a placeholder bound but unused in the SQL makes PostgreSQL fail, so bind `now` only when used
          if (v === 'active') return `(lp.status = 'active' AND lp.valid_to > ${where.param(ctx.now.toISOString())})`;
          if (v === 'inactive') return `(lp.status <> 'active' OR lp.valid_to <= ${where.param(ctx.now.toISOString())})`;
          return 'FALSE';
        });
      case 'date':
      case '_lastUpdated':
        return dateOnInstant(where, param, 'lp.updated_at');
      case 'period':
        return dateOnPeriod(where, param, 'lp.valid_from', 'lp.valid_to');
      case 'category':
        return anyOf(where, param, (v) => (tokenCode(v, ['http://loinc.org']) === '59284-0' ? 'TRUE' : 'FALSE'));
      case 'scope':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, ['http://terminology.hl7.org/CodeSystem/consentscope']);
          if (code === 'research') return `(lp.record ? 'studyId')`;
          if (code === 'patient-privacy') return `NOT (lp.record ? 'studyId')`;
          return 'FALSE';
        });
      case 'data-category':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, [DATA_CATEGORY_SYSTEM]);
          if (!code) return 'FALSE';
          const c = where.param(code);
          return `(${c} = ANY (lp.categories) OR ('*' = ANY (lp.categories) AND ${c} <> 'patient-private'))`;
        });
      default:
        throw badRequest(`search parameter ${param.name} is not supported on Consent`);
    }
  }

  private granteeOf(reference: string): Grantee | undefined {
    const org = /^Organization\/([A-Za-z0-9.-]{1,64})$/.exec(reference);
    if (org) return this.hospitals.knownMsp(org[1]) ? { kind: 'organization', id: org[1] } : undefined;
    const ledgerId = this.hospitals.ledgerIdForReference(reference);
    return ledgerId && /\/Practitioner\//.test(ledgerId) ? { kind: 'practitioner', id: ledgerId } : undefined;
  }

  private async toPermissionInput(ctx: RequestContext, resource: Resource) {
    const patientRef = ((resource.patient as { reference?: string } | undefined)?.reference ?? '').trim();
    const pseudonym = patientRef ? await this.patients.pseudonymOf(patientRef) : undefined;
    const grantees = await this.knownGrantees(resource);
    return consentToPermissionInput(resource, {
      resolvePatient: (ref) => (ref === patientRef ? pseudonym : undefined),
      resolveGrantee: (ref) => grantees.get(ref),
      now: ctx.now,
    });
  }

  /** The actors a Consent names that exist: a practitioner must be enrolled on the ledger, else the reference is broken. */
  private async knownGrantees(resource: Resource): Promise<Map<string, Grantee>> {
    const known = new Map<string, Grantee>();
    const actors = (resource.provision as { actor?: unknown } | undefined)?.actor;
    for (const actor of Array.isArray(actors) ? actors : []) {
      const ref = (actor as { reference?: { reference?: unknown } } | null)?.reference?.reference;
      const grantee = typeof ref === 'string' ? this.granteeOf(ref) : undefined;
      if (!grantee) continue;
      if (grantee.kind === 'practitioner' && !(await this.practitionerOnLedger(grantee.id))) continue;
      known.set(ref as string, grantee);
    }
    return known;
  }

  private async practitionerOnLedger(ledgerId: string): Promise<boolean> {
    const deadline = Date.now() + 1_000;
    for (;;) {
      const { rows } = await this.db.query('SELECT 1 FROM ledger_practitioners WHERE id = $1', [ledgerId]);
      if (rows.length > 0) return true;
      // enrolled moments ago (perhaps at another hospital) in a block our replica has not applied yet?
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      try {
        await this.ledger.projection.waitForBlock(this.ledger.projection.height(), remaining);
      } catch {
        return false;
      }
    }
  }

  private async toConsent(ctx: RequestContext, permission: Permission, at: { blockNumber: number; txId: string; lastUpdated: string }): Promise<Resource> {
    const granteeReference =
      permission.grantee.kind === 'practitioner'
        ? this.hospitals.referenceForLedgerId(permission.grantee.id)
        : permission.grantee.kind === 'organization'
          ? `Organization/${permission.grantee.id}`
          : `Device/${permission.grantee.id}`;
    return permissionToConsent(permission, {
      patientId: await this.patients.localIdOf(permission.patient),
      versionId: String(permission.version),
      lastUpdated: at.lastUpdated,
      txId: at.txId,
      blockNumber: at.blockNumber,
      granteeReference,
      now: ctx.now,
    }) as unknown as Resource;
  }

  private async blocksOf(txIds: string[]): Promise<Map<string, number>> {
    if (txIds.length === 0) return new Map();
    const { rows } = await this.db.query<{ tx_id: string; block_number: number }>('SELECT DISTINCT tx_id, block_number FROM ledger_events WHERE tx_id = ANY ($1)', [txIds]);
    return new Map(rows.map((r) => [r.tx_id, Number(r.block_number)]));
  }
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
