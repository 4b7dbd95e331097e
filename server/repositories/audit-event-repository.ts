import type { Database } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { badRequest, notFound } from '../fhir/outcome.js';
import type { Interaction, ResourceRepository, SearchParamDef, SearchResult } from '../fhir/repository.js';
import type { Resource } from '../fhir/resource.js';
import type { SearchParam, SearchRequest } from '../fhir/search/request.js';
import type { LedgerProjection } from '../ledger/projection.js';
import type { HospitalDirectory } from '../membership/directory.js';
import type { PatientDirectory } from '../membership/patients.js';
import { auditRowToAuditEvent, LEDGER_EVENT_SYSTEM, READ_KIND_SYSTEM } from './audit-event-mapping.js';
import { auditIdSql, auditRowsSql, visibleAuditSql, type AuditRow } from './audit-event-sql.js';
import { decideAt } from './ledger-read.js';
import { clauseOf } from './sql-clause.js';
import { anyOf, dateOnInstant, orderBy, SqlWhere, tokenCode } from './sql-search.js';

const SEARCH_PARAMS: SearchParamDef[] = [
  { name: 'patient', type: 'reference', documentation: 'The patient the event is about' },
  { name: 'entity', type: 'reference', documentation: 'The resource acted on (Consent, DocumentReference, Patient, Practitioner, ...)' },
  { name: 'agent', type: 'reference', documentation: 'Who acted (Practitioner, Patient, Device/<client id> for a backend service, or Organization/<MSP id> for a hospital)' },
  { name: 'date', type: 'date', documentation: 'When the event was recorded (ledger transaction time, or time of the read)' },
  { name: 'action', type: 'token', documentation: 'C | R | U | D | E' },
  { name: 'subtype', type: 'token', documentation: 'The ledger event (PermissionGranted, DocumentAdded, ...) or the kind of read (read, vread, search, download)' },
  { name: '_id', type: 'token', documentation: 'ledger-<block>-<tx index>-<event index>, read-<log sequence>, or read-<MSP id>-<log sequence> for a read another hospital served' },
  { name: '_lastUpdated', type: 'date', documentation: 'Same as date' },
];

const SORT_COLUMNS = { date: 'ae.at', _lastUpdated: 'ae.at' };
const ORDER_FALLBACK = 'ae.at, ae.src, ae.o1, ae.o2, ae.o3';
const ACTIONS = ['C', 'R', 'U', 'D', 'E'];
const ACTION_SYSTEM = 'http://hl7.org/fhir/audit-event-action';

/**
 * AuditEvent, read-only, over the ledger's committed events (who granted, revoked, uploaded, broke the glass,
 * in which transaction and block) and this hospital's read-access log (who read what, when, why).
 */
export class AuditEventRepository implements ResourceRepository {
  readonly resourceType = 'AuditEvent';
  readonly interactions: readonly Interaction[] = ['read', 'search-type'];
  readonly searchParams = SEARCH_PARAMS;
  readonly sortParams = ['date'];

  constructor(
    private readonly db: Database,
    private readonly projection: LedgerProjection,
    private readonly patients: PatientDirectory,
    private readonly hospitals: HospitalDirectory,
    /** brings in the reads of a patient of this hospital that other hospitals served (server/audit/disclosures.ts) */
    private readonly importDisclosures?: (pseudonym: string) => Promise<unknown>,
  ) {}

  async read(ctx: RequestContext, id: string): Promise<Resource> {
    decideAt(ctx, this.projection);
    await this.importFor(ctx, []);
    const where = new SqlWhere();
    const from = auditRowsSql(where, ctx.mspId);
    where.add(auditIdSql(where, id));
    where.add(visibleAuditSql(where, ctx.caller));
    const { rows } = await this.db.query<AuditRow>(`SELECT ae.* FROM ${from} WHERE ${where.toSql()}`, where.params);
    if (!rows[0]) throw notFound('AuditEvent', id);
    return (await this.toResources(rows))[0];
  }

  async search(ctx: RequestContext, request: SearchRequest): Promise<SearchResult> {
    decideAt(ctx, this.projection);
    await this.importFor(ctx, request.params);
    const where = new SqlWhere();
    const from = auditRowsSql(where, ctx.mspId);
    where.add(visibleAuditSql(where, ctx.caller));
    for (const param of request.params) await this.addCondition(where, param);
    const sql = `FROM ${from} WHERE ${where.toSql()}`;
    const total = request.totalNone ? -1 : (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`, where.params)).rows[0].n;
    const page = await this.db.query<AuditRow>(`SELECT ae.* ${sql} ORDER BY ${orderBy(request.sort, SORT_COLUMNS, ORDER_FALLBACK)} LIMIT ${request.count} OFFSET ${request.offset}`, where.params);
    const resources = await this.toResources(page.rows);
    return { resources, total: total < 0 ? resources.length : total };
  }

  /** The patient's history includes reads served elsewhere: imported (and proven) before it is queried. */
  private async importFor(ctx: RequestContext, params: SearchParam[]): Promise<void> {
    if (!this.importDisclosures) return;
    const pseudonyms = new Set<string>();
    if (ctx.caller.role === 'patient' && ctx.caller.pseudonym) pseudonyms.add(ctx.caller.pseudonym);
    for (const param of params) {
      if (param.name !== 'patient' || param.modifier) continue;
      for (const value of param.values) {
        const pseudonym = await this.patients.pseudonymOf(this.relative(value, 'Patient'));
        if (pseudonym) pseudonyms.add(pseudonym);
      }
    }
    for (const pseudonym of pseudonyms) await this.importDisclosures(pseudonym);
  }

  private async addCondition(where: SqlWhere, param: SearchParam): Promise<void> {
    if (param.modifier) throw badRequest(`modifier :${param.modifier} is not supported on AuditEvent.${param.name}`);
    switch (param.name) {
      case '_id':
        return anyOf(where, param, (v) => auditIdSql(where, v));
      case 'date':
      case '_lastUpdated':
        return where.add(clauseOf(where, (scratch) => dateOnInstant(scratch, param, 'ae.at')));
      case 'action':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, [ACTION_SYSTEM]);
          return code && ACTIONS.includes(code) ? `ae.action = ${where.param(code)}` : 'FALSE';
        });
      case 'subtype':
        return anyOf(where, param, (v) => {
          const code = tokenCode(v, [LEDGER_EVENT_SYSTEM, READ_KIND_SYSTEM]);
          return code ? `ae.subtype = ${where.param(code)}` : 'FALSE';
        });
      case 'patient': {
        const pseudonyms = await resolveEach(param.values, (v) => this.patients.pseudonymOf(this.relative(v, 'Patient')));
        return anyOf(where, param, (v) => (pseudonyms.get(v) ? `ae.patient = ${where.param(pseudonyms.get(v))}` : 'FALSE'));
      }
      case 'agent': {
        const agents = await resolveEach(param.values, (v) => this.ledgerIdOf(v));
        return anyOf(where, param, (v) => (agents.get(v) ? `ae.agent = ${where.param(agents.get(v))}` : 'FALSE'));
      }
      case 'entity': {
        const entities = await resolveEach(param.values, (v) => this.entityOf(v));
        return anyOf(where, param, (v) => {
          const entity = entities.get(v);
          if (!entity) return 'FALSE';
          if (entity.patient) return `ae.patient = ${where.param(entity.patient)}`;
          const id = where.param(entity.id);
          return `(ae.entity_type = ${where.param(entity.type)} AND (ae.entity_id = ${id} OR ${id} = ANY (ae.entity_ids)))`;
        });
      }
      default:
        throw badRequest(`search parameter ${param.name} is not supported on AuditEvent`);
    }
  }

  /** `Type/id` from a relative or absolute (this server) reference, or a bare id of the default type. */
  private relative(value: string, defaultType?: string): string {
    const base = this.hospitals.self.baseUrl;
    const rel = value.startsWith(`${base}/`) ? value.slice(base.length + 1) : value;
    return defaultType && !rel.includes('/') ? `${defaultType}/${rel}` : rel;
  }

  /** The ledger identity a reference to an agent names. */
  private async ledgerIdOf(value: string): Promise<string | undefined> {
    const rel = this.relative(value);
    const org = /^Organization\/([A-Za-z0-9.-]{1,64})$/.exec(rel);
    if (org) return org[1];
    const device = /^Device\/([A-Za-z0-9._~-]{1,128})$/.exec(rel);
    if (device) return `client/${device[1]}`;
    if (/^Patient\//.test(rel)) return this.patients.pseudonymOf(rel);
    return this.hospitals.ledgerIdForReference(rel);
  }

  private async entityOf(value: string): Promise<{ type: string; id: string; patient?: string } | undefined> {
    const rel = this.relative(value);
    if (/^https?:/.test(rel)) {
      // only another hospital's practitioners are named by absolute references here
      const ledgerId = this.hospitals.ledgerIdForReference(rel);
      return ledgerId ? { type: 'Practitioner', id: ledgerId } : undefined;
    }
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(rel);
    if (!m) return undefined;
    const [, type, id] = m;
    if (type === 'Patient') {
      const patient = await this.patients.pseudonymOf(rel);
      return patient ? { type, id, patient } : undefined;
    }
    if (type === 'Practitioner') {
      const ledgerId = this.hospitals.ledgerIdForReference(rel);
      return ledgerId ? { type, id: ledgerId } : undefined;
    }
    return { type, id };
  }

  private async toResources(rows: AuditRow[]): Promise<Resource[]> {
    const pseudonyms = new Set<string>();
    for (const row of rows) {
      if (row.patient) pseudonyms.add(row.patient);
      if (row.agent && /^[0-9a-f]{64}$/.test(row.agent)) pseudonyms.add(row.agent);
    }
    const local = new Map<string, string>();
    if (pseudonyms.size > 0) {
      const { rows: links } = await this.db.query<{ patient_id: string; pseudonym: string }>('SELECT patient_id, pseudonym FROM patient_pseudonyms WHERE pseudonym = ANY ($1)', [[...pseudonyms]]);
      for (const link of links) local.set(link.pseudonym, link.patient_id);
    }
    const refs = {
      patientId: (pseudonym: string) => local.get(pseudonym) ?? pseudonym,
      practitioner: (ledgerId: string) => this.hospitals.referenceForLedgerId(ledgerId),
    };
    return rows.map((row) => auditRowToAuditEvent(row, refs));
  }
}

async function resolveEach<T>(values: string[], resolve: (value: string) => Promise<T | undefined>): Promise<Map<string, T | undefined>> {
  return new Map(await Promise.all(values.map(async (v) => [v, await resolve(v)] as const)));
}
