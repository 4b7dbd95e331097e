import type { Database } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { badRequest, conflict, FhirError, forbidden, notFound, preconditionFailed } from '../fhir/outcome.js';
import type { Interaction, ResourceRepository, SearchParamDef, SearchResult } from '../fhir/repository.js';
import type { Resource } from '../fhir/resource.js';
import type { SearchRequest } from '../fhir/search/request.js';
import type { LedgerProjection } from '../ledger/projection.js';
import { logRead } from './access-log.js';
import { decideAt } from './ledger-read.js';
import { foreignPatient, visibleRowsSql, type MembershipRow } from './membership-access.js';
import { checkMembershipInput } from './membership-input.js';
import { addMembershipCondition, sortColumns } from './membership-search.js';
import { MEMBERSHIP_CONFIG, MEMBERSHIP_TYPES, searchParamDefs, type MembershipTypeConfig } from './membership-types.js';
import type { ResourceStore } from './resource-store.js';
import { VersionConflict } from './resource-store.js';
import { orderBy, SqlWhere } from './sql-search.js';

export interface MembershipDeps {
  db: Database;
  store: ResourceStore;
  /** the ledger replica, which decides which patients a practitioner may see */
  projection: LedgerProjection;
  /** what a patient of another hospital shared with the caller (sealed for them or their organization), if anything */
  foreignDemographics?: (ctx: RequestContext, pseudonym: string) => Promise<Record<string, unknown> | undefined>;
  /** a local Patient changed: the copies of its demographics shared with other hospitals are sealed again */
  patientChanged?: (patientId: string) => Promise<void>;
}

const PSEUDONYM_ID = /^[0-9a-f]{64}$/;
/** what a patient may change in their own Patient resource */
const PATIENT_EDITABLE = ['telecom', 'address'];

/**
 * Patient, Practitioner, Organization and PractitionerRole: versioned resources in the hospital's database
 * (ResourceStore), searched through the resource_search index, with the access policy applied here.
 * Practitioner, Organization and PractitionerRole are readable by every user of the hospital; a Patient
 * only as described in membership-access.ts. Only admins write (a patient may edit their own telecom and
 * address). A resource the caller may not read answers exactly like a missing one.
 */
export class MembershipRepository implements ResourceRepository {
  readonly resourceType: string;
  readonly interactions: readonly Interaction[] = ['read', 'vread', 'search-type', 'create', 'update', 'delete', 'history-instance'];
  readonly searchParams: readonly SearchParamDef[];
  readonly sortParams: readonly string[];

  constructor(
    private readonly config: MembershipTypeConfig,
    private readonly deps: MembershipDeps,
  ) {
    this.resourceType = config.resourceType;
    this.searchParams = searchParamDefs(config);
    this.sortParams = Object.keys(config.sorts);
  }

  private get isPatient(): boolean {
    return this.config.resourceType === 'Patient';
  }

  async read(ctx: RequestContext, id: string): Promise<Resource> {
    const row = await this.readable(ctx, id);
    if (!row) throw await this.missing(ctx, id);
    await this.logPatientRead(ctx, row, 'read');
    return this.toResource(ctx, row);
  }

  async vread(ctx: RequestContext, id: string, versionId: string): Promise<Resource> {
    const row = await this.readable(ctx, id);
    if (!row) {
      if (!(await this.deletedVisible(ctx, id))) throw notFound(this.resourceType, id);
    } else if (row.home_msp) {
      if (versionId !== '1') throw notFound(this.resourceType, `${id}/_history/${versionId}`);
      await this.logPatientRead(ctx, row, 'vread');
      return this.toResource(ctx, row);
    }
    const version = /^\d{1,9}$/.test(versionId) ? await this.deps.store.version(this.resourceType, id, Number(versionId)) : undefined;
    if (!version) throw notFound(this.resourceType, `${id}/_history/${versionId}`);
    if (version.deleted) throw new FhirError(410, 'deleted', `${this.resourceType}/${id} version ${versionId} is a deletion`);
    if (row) await this.logPatientRead(ctx, row, 'vread');
    return version.resource;
  }

  async history(ctx: RequestContext, id: string): Promise<Resource[]> {
    const row = await this.readable(ctx, id);
    if (!row && !(await this.deletedVisible(ctx, id))) throw notFound(this.resourceType, id);
    if (row?.home_msp) return [await this.toResource(ctx, row)];
    if (row) await this.logPatientRead(ctx, row, 'vread');
    // a history bundle here lists resource versions; deletions are left out (they carry no resource)
    return (await this.deps.store.history(this.resourceType, id)).filter((v) => !v.deleted).map((v) => v.resource);
  }

  async search(ctx: RequestContext, request: SearchRequest): Promise<SearchResult> {
    const where = new SqlWhere();
    const from = this.visibleFrom(ctx, where);
    for (const param of request.params) addMembershipCondition(where, this.config, param, ctx.baseUrl);
    const sql = `FROM ${from} WHERE ${where.toSql()}`;
    const total = request.totalNone ? -1 : (await this.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`, where.params)).rows[0].n;
    const order = orderBy(request.sort, sortColumns(this.config), 'r.id');
    const page = await this.deps.db.query<MembershipRow>(`SELECT r.id, r.last_updated, r.resource, r.pseudonym, r.home_msp ${sql} ORDER BY ${order} LIMIT ${request.count} OFFSET ${request.offset}`, where.params);
    const resources: Resource[] = [];
    for (const row of page.rows) {
      await this.logPatientRead(ctx, row, 'search');
      resources.push(await this.toResource(ctx, row));
    }
    return { resources, total: total < 0 ? resources.length : total };
  }

  async create(ctx: RequestContext, resource: Resource): Promise<Resource> {
    if (ctx.caller.role !== 'admin') throw forbidden(`only an admin of this hospital creates ${this.resourceType} resources`);
    const { id: _clientId, ...body } = resource;
    await checkMembershipInput(this.deps.db, { ...body, resourceType: this.resourceType }, ctx.baseUrl);
    return (await this.deps.store.put(this.resourceType, body)).resource;
  }

  async update(ctx: RequestContext, id: string, resource: Resource, opts: { ifMatch?: string }): Promise<{ resource: Resource; created: boolean }> {
    await this.requireWriter(ctx, id, resource);
    if (this.isPatient && PSEUDONYM_ID.test(id)) throw badRequest('Patient ids of 64 hexadecimal characters are reserved for ledger pseudonyms', ['Patient.id']);
    await checkMembershipInput(this.deps.db, { ...resource, resourceType: this.resourceType, id }, ctx.baseUrl);
    let stored;
    try {
      stored = await this.deps.store.put(this.resourceType, { ...resource, id }, { id, expectVersion: opts.ifMatch === undefined ? undefined : Number(opts.ifMatch) });
    } catch (err) {
      if (err instanceof VersionConflict) throw preconditionFailed(`If-Match: ${err.message}`);
      throw err;
    }
    if (this.isPatient) await this.deps.patientChanged?.(id);
    return stored;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    if (ctx.caller.role !== 'admin') {
      if (!(await this.readable(ctx, id))) throw notFound(this.resourceType, id);
      throw forbidden(`only an admin of this hospital deletes ${this.resourceType} resources`);
    }
    const current = await this.deps.store.current(this.resourceType, id);
    if (!current || current.deleted) throw notFound(this.resourceType, id);
    await this.requireUnreferenced(id, ctx.baseUrl);
    if (!(await this.deps.store.delete(this.resourceType, id))) throw notFound(this.resourceType, id);
  }

  /** The row for `id` if the caller may read it. */
  private async readable(ctx: RequestContext, id: string): Promise<MembershipRow | undefined> {
    const where = new SqlWhere();
    const from = this.visibleFrom(ctx, where);
    where.add(`r.id = ${where.param(id)}`);
    const { rows } = await this.deps.db.query<MembershipRow>(`SELECT r.id, r.last_updated, r.resource, r.pseudonym, r.home_msp FROM ${from} WHERE ${where.toSql()}`, where.params);
    return rows[0];
  }

  private visibleFrom(ctx: RequestContext, where: SqlWhere): string {
    // which patients a practitioner sees is a ledger decision: the replica must be fresh enough
    if (this.isPatient && ctx.caller.role === 'practitioner') decideAt(ctx, this.deps.projection);
    return visibleRowsSql(ctx, this.config.resourceType, where);
  }

  /** A deleted resource answers 410 to those who could read the type anyway; to everyone else it is unknown. */
  private async deletedVisible(ctx: RequestContext, id: string): Promise<boolean> {
    if (this.isPatient && ctx.caller.role !== 'admin') return false;
    const current = await this.deps.store.current(this.resourceType, id);
    return current?.deleted === true;
  }

  private async missing(ctx: RequestContext, id: string): Promise<FhirError> {
    if (await this.deletedVisible(ctx, id)) return new FhirError(410, 'deleted', `${this.resourceType}/${id} has been deleted`);
    return notFound(this.resourceType, id);
  }

  private async requireWriter(ctx: RequestContext, id: string, resource: Resource): Promise<void> {
    const caller = ctx.caller;
    if (caller.role === 'admin') return;
    if (this.isPatient && caller.role === 'patient' && caller.fhirUser === `Patient/${id}`) {
      const current = await this.deps.store.current('Patient', id);
      if (current && !current.deleted && sameExcept(current.resource, resource, PATIENT_EDITABLE)) return;
      throw forbidden('a patient may change only the telecom and address of their own Patient resource');
    }
    if (this.isPatient && !(await this.readable(ctx, id))) throw notFound(this.resourceType, id);
    throw forbidden(`only an admin of this hospital writes ${this.resourceType} resources`);
  }

  /** A resource still in use (an account, a pseudonym, a reference from another resource) is not deleted. */
  private async requireUnreferenced(id: string, baseUrl: string): Promise<void> {
    const type = this.resourceType;
    const { rows: accounts } = await this.deps.db.query('SELECT 1 FROM users WHERE fhir_user = $1', [`${type}/${id}`]);
    if (accounts.length > 0) throw conflict(`${type}/${id} belongs to a user account; disable the account instead`);
    if (this.isPatient) {
      const { rows } = await this.deps.db.query('SELECT 1 FROM patient_pseudonyms WHERE patient_id = $1', [id]);
      if (rows.length > 0) throw conflict(`Patient/${id} is enrolled on the ledger; erase the patient instead`);
    }
    const { rows } = await this.deps.db.query<{ resource_type: string; id: string }>(
      `SELECT s.resource_type, s.id FROM resource_search s
       WHERE s.param = '_reference' AND s.value = ANY ($1) AND NOT (s.resource_type = $2 AND s.id = $3) LIMIT 1`,
      [[`${type}/${id}`, `${baseUrl}/${type}/${id}`], type, id],
    );
    if (rows[0]) throw conflict(`${type}/${id} is referenced by ${rows[0].resource_type}/${rows[0].id}`);
  }

  private async logPatientRead(ctx: RequestContext, row: MembershipRow, action: 'read' | 'vread' | 'search'): Promise<void> {
    if (!this.isPatient || ctx.caller.role !== 'practitioner' || !row.pseudonym) return;
    await logRead(this.deps.db, ctx, { patient: row.pseudonym, resourceType: 'Patient', resourceId: row.id, action });
  }

  private async toResource(ctx: RequestContext, row: MembershipRow): Promise<Resource> {
    if (row.resource) return row.resource;
    const shared = row.pseudonym && this.deps.foreignDemographics ? await this.deps.foreignDemographics(ctx, row.pseudonym) : undefined;
    return foreignPatient(row, shared);
  }
}

/** One repository per membership type, ready to register. */
export function membershipRepositories(deps: MembershipDeps): MembershipRepository[] {
  return MEMBERSHIP_TYPES.map((type) => new MembershipRepository(MEMBERSHIP_CONFIG[type], deps));
}

function sameExcept(a: Resource, b: Resource, editable: string[]): boolean {
  const strip = (r: Resource) => {
    const copy: Record<string, unknown> = { ...r };
    for (const key of ['id', 'meta', ...editable]) delete copy[key];
    return canonical(copy);
  };
  return strip(a) === strip(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
