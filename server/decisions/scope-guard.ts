import type { RequestHandler } from 'express';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import type { Permission } from '../../chaincode/src/records.js';
import type { Database } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { forbidden } from '../fhir/outcome.js';
import type { LedgerTransactional, PreparedLedgerWrite, ResourceRepository } from '../fhir/repository.js';
import type { Resource } from '../fhir/resource.js';
import type { SearchRequest } from '../fhir/search/request.js';
import type { PatientDirectory } from '../membership/patients.js';
import type { Interaction } from '../smart/scopes.js';
import { coveredCategories, DOCUMENT_TYPES, scopeReach, type Reach, type ReachSpec } from './scope-reach.js';

type GuardedRepository = ResourceRepository & LedgerTransactional;

const VERBS: Record<Interaction, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };
/** Where a resource of each type names its patient (a `patient/` scope of a practitioner is bound to one). */
const PATIENT_OF: Record<string, (r: Resource, baseUrl: string) => string | undefined> = {
  DocumentReference: (r) => referenceOf(r.subject),
  Consent: (r) => referenceOf(r.patient),
  Patient: (r) => (typeof r.id === 'string' ? `Patient/${r.id}` : undefined),
};

/**
 * Scopes ∩ ledger, the scope half: every repository interaction first asks which scopes of the token cover
 * it (403 when none does), then runs with the caller narrowed to that reach, which the repositories' SQL
 * intersects with the ledger's decision. So a direct read, a search and its total, an `_include`, a batch
 * entry and a transaction entry are all narrowed the same way. What the scopes reach but the ledger does
 * not answers exactly like a missing resource (404), and so does a resource outside a `?category=` scope.
 */
export class ScopeGuard {
  constructor(
    private readonly db: Database,
    private readonly patients: PatientDirectory,
  ) {}

  /** The caller's reach for `interaction` on `types`; undefined when the token does not narrow. 403 when no scope covers it. */
  async reach(ctx: RequestContext, types: readonly string[], interaction: Interaction): Promise<Reach[] | undefined> {
    let specs = scopeReach(ctx.caller, types, interaction);
    if (!specs) return undefined;
    if (specs.length && types.some((t) => DOCUMENT_TYPES.includes(t))) specs = await this.withinAppPermission(ctx, specs, interaction);
    if (!specs.length) throw forbidden(`the access token's scopes do not allow ${VERBS[interaction]} on ${types[0]}`);
    const reach: Reach[] = [];
    for (const spec of specs) {
      const { patientId, ...rest } = spec;
      if (!patientId) reach.push(rest);
      else reach.push({ ...rest, patient: { id: patientId, pseudonym: (await this.patients.pseudonymOf(patientId)) ?? '' } });
    }
    return reach;
  }

  /** Runs `fn` with the caller narrowed to their reach (the ledger height it decided at flows back to `ctx`). */
  async within<T>(ctx: RequestContext, types: readonly string[], interaction: Interaction, fn: (scoped: RequestContext) => Promise<T>): Promise<T> {
    const reach = await this.reach(ctx, types, interaction);
    if (!reach) return fn(ctx);
    const scoped: RequestContext = { ...ctx, caller: { ...ctx.caller, reach } };
    try {
      return await fn(scoped);
    } finally {
      if (scoped.ledgerHeight !== undefined) ctx.ledgerHeight = scoped.ledgerHeight;
    }
  }

  /** The repository with every interaction narrowed by the token's scopes. */
  wrap(repo: GuardedRepository): GuardedRepository {
    const type = repo.resourceType;
    const types = [type];
    const writing = (ctx: RequestContext, interaction: Interaction, resource: Resource, fn: (scoped: RequestContext) => Promise<unknown>) =>
      this.within(ctx, types, interaction, (scoped) => {
        this.requireAdmitted(scoped, type, interaction, resource);
        return fn(scoped);
      });
    const prepared = (ctx: RequestContext, p: PreparedLedgerWrite, scoped: RequestContext): PreparedLedgerWrite => ({
      ...p,
      respond: async () => {
        const answer = await p.respond();
        if (scoped.ledgerHeight !== undefined) ctx.ledgerHeight = scoped.ledgerHeight;
        return answer;
      },
    });
    const guarded: GuardedRepository = {
      resourceType: type,
      interactions: repo.interactions,
      searchParams: repo.searchParams,
      ...(repo.sortParams ? { sortParams: repo.sortParams } : {}),
      ...(repo.updateCreate !== undefined ? { updateCreate: repo.updateCreate } : {}),
      read: (ctx, id) => this.within(ctx, types, 'r', (scoped) => repo.read(scoped, id)),
    };
    if (repo.vread) guarded.vread = (ctx, id, vid) => this.within(ctx, types, 'r', (scoped) => repo.vread!(scoped, id, vid));
    if (repo.history) guarded.history = (ctx, id) => this.within(ctx, types, 'r', (scoped) => repo.history!(scoped, id));
    if (repo.search) {
      guarded.search = (ctx, request) =>
        this.within(ctx, types, 's', (scoped) => {
          this.requireCategoriesInReach(scoped, type, request);
          return repo.search!(scoped, request);
        });
    }
    if (repo.create) guarded.create = (ctx, resource) => writing(ctx, 'c', resource, (scoped) => repo.create!(scoped, resource)) as Promise<Resource>;
    if (repo.update) guarded.update = (ctx, id, resource, opts) => writing(ctx, 'u', resource, (scoped) => repo.update!(scoped, id, resource, opts)) as ReturnType<NonNullable<ResourceRepository['update']>>;
    if (repo.delete) guarded.delete = (ctx, id) => this.within(ctx, types, 'd', (scoped) => repo.delete!(scoped, id));
    if (repo.prepareCreate) guarded.prepareCreate = (ctx, resource) => writing(ctx, 'c', resource, async (scoped) => prepared(ctx, await repo.prepareCreate!(scoped, resource), scoped)) as Promise<PreparedLedgerWrite>;
    if (repo.prepareUpdate) guarded.prepareUpdate = (ctx, id, resource, opts) => writing(ctx, 'u', resource, async (scoped) => prepared(ctx, await repo.prepareUpdate!(scoped, id, resource, opts), scoped)) as Promise<PreparedLedgerWrite>;
    if (repo.prepareDelete) guarded.prepareDelete = (ctx, id) => this.within(ctx, types, 'd', async (scoped) => prepared(ctx, await repo.prepareDelete!(scoped, id), scoped));
    return guarded;
  }

  /**
   * Binary follows its DocumentReference: a download needs a scope reading Binary or DocumentReference and
   * is narrowed like a DocumentReference read. Backend services cannot upload: they hold no encryption key,
   * so nothing they stored could ever be opened or become a document.
   */
  binaryAccess(ctxOf: (req: Parameters<RequestHandler>[0]) => RequestContext): RequestHandler {
    return (req, _res, next) => {
      const ctx = ctxOf(req);
      const interaction: Interaction = req.method === 'POST' ? 'c' : 'r';
      this.reach(ctx, ['Binary', 'DocumentReference'], interaction)
        .then((reach) => {
          if (interaction === 'c' && ctx.caller.grantKind === 'system') throw forbidden('a backend service cannot upload Binary content: it holds no key the content could be encrypted for');
          if (reach) (req as typeof req & { fhir?: RequestContext }).fhir = { ...ctx, caller: { ...ctx.caller, reach } };
          next();
        })
        .catch(next);
    };
  }

  /**
   * A patient's app reaches documents only in the categories the patient ticked when approving it, and only
   * with the right (read, write) the approval wrote on the ledger.
   */
  private async withinAppPermission(ctx: RequestContext, specs: ReachSpec[], interaction: Interaction): Promise<ReachSpec[]> {
    const caller = ctx.caller;
    if (caller.grantKind !== 'patient' || !caller.grantId) return specs;
    const grantId = caller.grantId;
    // the record itself changes only with the database (QueryCache); whether it is in force is decided later
    const permission = await this.db.cache.get(`app-permission ${grantId}`, async () => {
      const { rows } = await this.db.query<{ record: Permission }>(
        `SELECT lp.record FROM smart_grants sg JOIN ledger_permissions lp ON lp.patient = sg.permission_patient AND lp.id = sg.permission_id WHERE sg.grant_id = $1`,
        [grantId],
      );
      return { value: rows[0]?.record, validUntilMs: Infinity };
    });
    if (!permission) return specs;
    const right = interaction === 'r' || interaction === 's' ? 'read' : 'write';
    if (!permission.rights.includes(right)) return [];
    const granted = coveredCategories(permission.categories);
    return specs
      .map((s) => ({ ...s, categories: (s.categories ?? granted).filter((c) => granted.includes(c)) }))
      .filter((s) => s.categories.length > 0);
  }

  /** A write must fall within one reach: the patient it is about, the category it carries. */
  private requireAdmitted(ctx: RequestContext, type: string, interaction: Interaction, resource: Resource): void {
    const reach = ctx.caller.reach;
    if (!reach) return;
    const patientOf = PATIENT_OF[type];
    const patient = patientOf?.(resource, ctx.baseUrl)?.replace(`${ctx.baseUrl}/`, '');
    const categories = DOCUMENT_TYPES.includes(type) ? dataCategoriesOf(resource) : [];
    const admitted = reach.some((r) => (!r.patient || !patientOf || patient === `Patient/${r.patient.id}`) && (!r.categories || categories.some((c) => r.categories!.includes(c))));
    if (!admitted) throw forbidden(`the access token's scopes do not allow ${VERBS[interaction]} of this ${type} (its patient or category is outside them)`);
  }

  /** A search naming only categories outside a `?category=`-constrained reach is refused, not answered empty. */
  private requireCategoriesInReach(ctx: RequestContext, type: string, request: SearchRequest): void {
    const reach = ctx.caller.reach;
    if (!reach || !DOCUMENT_TYPES.includes(type) || !reach.every((r) => r.categories)) return;
    const allowed = new Set(reach.flatMap((r) => r.categories!));
    for (const param of request.params) {
      if (param.name !== 'category' || param.modifier) continue;
      const named = param.values.map(categoryCode);
      if (!named.some((c) => c !== undefined && allowed.has(c))) throw forbidden(`the access token's scopes do not allow searching DocumentReference of category ${param.values.join(',')}`);
    }
  }
}

function referenceOf(value: unknown): string | undefined {
  const ref = (value as { reference?: unknown } | undefined)?.reference;
  return typeof ref === 'string' ? ref.trim() : undefined;
}

function dataCategoriesOf(resource: Resource): string[] {
  const categories = Array.isArray(resource.category) ? (resource.category as { coding?: { system?: string; code?: string }[] }[]) : [];
  return categories.flatMap((c) => (Array.isArray(c?.coding) ? c.coding : [])).filter((c) => c?.system === DATA_CATEGORY_SYSTEM && typeof c.code === 'string').map((c) => c.code!);
}

function categoryCode(token: string): string | undefined {
  const bar = token.indexOf('|');
  if (bar < 0) return token;
  return token.slice(0, bar) === DATA_CATEGORY_SYSTEM || bar === 0 ? token.slice(bar + 1) : undefined;
}
