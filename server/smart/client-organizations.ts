import type { Queryable } from '../db/database.js';

const CACHE_MAX = 10_000;
// a client registered a moment ago, perhaps by another process, is asked about again after this long
const UNKNOWN_TTL_MS = 30_000;

/**
 * Which backend clients the hospital registered itself (table smart_client_organizations): their system/
 * tokens act for the hospital's organization too. A client's organization never changes once registered.
 */
export class ClientOrganizations {
  private readonly known = new Map<string, string>();
  private readonly unknown = new Map<string, number>();

  constructor(private readonly db: Queryable) {}

  async record(clientId: string, mspId: string): Promise<void> {
    await this.db.query('INSERT INTO smart_client_organizations (client_id, msp_id) VALUES ($1, $2) ON CONFLICT (client_id) DO NOTHING', [clientId, mspId]);
    this.unknown.delete(clientId);
  }

  /** The MSP id of the hospital that registered the client, or undefined for an openly registered one. */
  async of(clientId: string): Promise<string | undefined> {
    const hit = this.known.get(clientId);
    if (hit) return hit;
    const miss = this.unknown.get(clientId);
    if (miss !== undefined && Date.now() < miss) return undefined;
    const { rows } = await this.db.query<{ msp_id: string }>('SELECT msp_id FROM smart_client_organizations WHERE client_id = $1', [clientId]);
    const msp = rows[0]?.msp_id;
    if (this.known.size + this.unknown.size >= CACHE_MAX) {
      this.known.clear();
      this.unknown.clear();
    }
    if (msp) this.known.set(clientId, msp);
    else this.unknown.set(clientId, Date.now() + UNKNOWN_TTL_MS);
    return msp;
  }
}
