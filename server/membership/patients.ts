import type { Database } from '../db/database.js';

const PSEUDONYM_RE = /^[0-9a-f]{64}$/;

/**
 * Local Patient ids ↔ ledger pseudonyms. A patient enrolled elsewhere has no local id: the FHIR id
 * used for them here is their pseudonym itself (64 hex characters, a valid FHIR id).
 */
export class PatientDirectory {
  constructor(private readonly db: Database) {}

  async link(patientId: string, pseudonym: string, secret: string): Promise<void> {
    await this.db.query('INSERT INTO patient_pseudonyms (patient_id, pseudonym, secret) VALUES ($1, $2, $3)', [patientId, pseudonym, secret]);
  }

  /** The pseudonym a `Patient/<id>` reference (or bare id) names, if the ledger knows that patient. */
  pseudonymOf(reference: string): Promise<string | undefined> {
    const id = reference.replace(/^Patient\//, '');
    return this.db.cache.get(`pseudonym-of ${id}`, async () => ({ value: await this.lookUpPseudonym(id), validUntilMs: Infinity }));
  }

  private async lookUpPseudonym(id: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ pseudonym: string }>('SELECT pseudonym FROM patient_pseudonyms WHERE patient_id = $1', [id]);
    if (rows[0]) return rows[0].pseudonym;
    if (!PSEUDONYM_RE.test(id)) return undefined;
    const known = await this.db.query('SELECT 1 FROM ledger_patients WHERE pseudonym = $1', [id]);
    return known.rows.length ? id : undefined;
  }

  localIdOf(pseudonym: string): Promise<string> {
    return this.db.cache.get(`local-id-of ${pseudonym}`, async () => ({ value: await this.lookUpLocalId(pseudonym), validUntilMs: Infinity }));
  }

  private async lookUpLocalId(pseudonym: string): Promise<string> {
    const { rows } = await this.db.query<{ patient_id: string }>('SELECT patient_id FROM patient_pseudonyms WHERE pseudonym = $1', [pseudonym]);
    return rows[0]?.patient_id ?? pseudonym;
  }
}
