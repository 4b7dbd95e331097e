import type { Queryable } from '../db/database.js';

/** What one authorization decided beyond its scopes (table smart_grants). */
export interface GrantContext {
  grantId: string;
  clientId: string;
  username: string;
  /** FHIR Patient id in context */
  patient?: string;
  encounter?: string;
  needPatientBanner: boolean;
  /** the ledger permission (grantee kind client) a patient's approval wrote */
  permission?: { patient: string; id: string };
}

interface Row {
  grant_id: string;
  client_id: string;
  username: string;
  patient: string | null;
  encounter: string | null;
  need_patient_banner: boolean;
  permission_patient: string | null;
  permission_id: string | null;
}

const CACHE_MAX = 10_000;

/** Grant contexts are written once and never changed, so every process may keep the ones it has read. */
export class GrantContexts {
  private readonly cache = new Map<string, GrantContext>();

  constructor(private readonly db: Queryable) {}

  async save(g: GrantContext): Promise<void> {
    await this.db.query(
      `INSERT INTO smart_grants (grant_id, client_id, username, patient, encounter, need_patient_banner, permission_patient, permission_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [g.grantId, g.clientId, g.username, g.patient ?? null, g.encounter ?? null, g.needPatientBanner, g.permission?.patient ?? null, g.permission?.id ?? null],
    );
  }

  async find(grantId: string): Promise<GrantContext | undefined> {
    const cached = this.cache.get(grantId);
    if (cached) return cached;
    const { rows } = await this.db.query<Row>('SELECT * FROM smart_grants WHERE grant_id = $1', [grantId]);
    const r = rows[0];
    if (!r) return undefined;
    const context: GrantContext = {
      grantId: r.grant_id,
      clientId: r.client_id,
      username: r.username,
      ...(r.patient ? { patient: r.patient } : {}),
      ...(r.encounter ? { encounter: r.encounter } : {}),
      needPatientBanner: r.need_patient_banner,
      ...(r.permission_id && r.permission_patient ? { permission: { patient: r.permission_patient, id: r.permission_id } } : {}),
    };
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(grantId, context);
    return context;
  }
}
