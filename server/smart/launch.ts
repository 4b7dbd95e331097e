import crypto from 'node:crypto';
import type { Queryable } from '../db/database.js';

/** An EHR launch: who is looking at which patient (and encounter), for which app. */
export interface LaunchContext {
  clientId: string;
  /** FHIR Patient id at this hospital */
  patient: string;
  /** `Practitioner/<id>` of this hospital: only they may complete the launch */
  practitioner: string;
  encounter?: string;
  /** the EHR client (or `ehr-page`) that registered it */
  issuedBy: string;
}

export const LAUNCH_LIFETIME_S = 300;

interface LaunchRow {
  client_id: string;
  patient: string;
  practitioner: string;
  encounter: string | null;
  issued_by: string;
}

/**
 * Launch handles: 256 random bits (base64url), so they reveal nothing when decoded; only their SHA-256 is
 * stored. A handle is short-lived and spent by the first authorization request that presents it.
 */
export class LaunchContexts {
  constructor(private readonly db: Queryable) {}

  async register(context: LaunchContext, lifetimeSeconds = LAUNCH_LIFETIME_S): Promise<{ launch: string; expiresIn: number }> {
    const launch = crypto.randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO smart_launches (handle_sha256, client_id, patient, practitioner, encounter, issued_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::int))`,
      [digest(launch), context.clientId, context.patient, context.practitioner, context.encounter ?? null, context.issuedBy, lifetimeSeconds],
    );
    return { launch, expiresIn: lifetimeSeconds };
  }

  /** Spends a handle for this client (atomically: of two requests presenting it, one wins). */
  async redeem(launch: string, clientId: string): Promise<LaunchContext | undefined> {
    const { rows } = await this.db.query<LaunchRow>(
      `UPDATE smart_launches SET used_at = now()
       WHERE handle_sha256 = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > now()
       RETURNING client_id, patient, practitioner, encounter, issued_by`,
      [digest(launch), clientId],
    );
    return rows[0] && toContext(rows[0]);
  }

  /** The context of a handle this client's authorization request already spent (read at consent time). */
  async spent(launch: string, clientId: string): Promise<LaunchContext | undefined> {
    const { rows } = await this.db.query<LaunchRow>(
      `SELECT client_id, patient, practitioner, encounter, issued_by FROM smart_launches
       WHERE handle_sha256 = $1 AND client_id = $2 AND used_at IS NOT NULL AND used_at > now() - interval '1 hour'`,
      [digest(launch), clientId],
    );
    return rows[0] && toContext(rows[0]);
  }
}

function digest(launch: string): string {
  return crypto.createHash('sha256').update(launch).digest('hex');
}

function toContext(row: LaunchRow): LaunchContext {
  return { clientId: row.client_id, patient: row.patient, practitioner: row.practitioner, ...(row.encounter ? { encounter: row.encounter } : {}), issuedBy: row.issued_by };
}
