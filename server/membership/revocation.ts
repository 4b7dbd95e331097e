import type { Database } from '../db/database.js';
import { conflict, notFound } from '../fhir/outcome.js';
import { serialOf, type HospitalCa } from './hospital-ca.js';

// serializes revocations across the hospital's server processes, so each CRL lists every earlier revocation
const REVOCATION_LOCK = 7_340_913;

/**
 * Revoking a user: the account is disabled (no login; every token of theirs answers 401 from the next request),
 * the certificate's serial joins the CA's revocation list, and the new CRL is published to the peer, which then
 * refuses that identity on every proposal, submit and event stream.
 */
export class Revocations {
  constructor(
    private readonly db: Database,
    private readonly ca: HospitalCa,
  ) {}

  async revoke(username: string, opts: { by: string; reason?: string }): Promise<{ serialNumber: string; crlPem: string }> {
    const done = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [REVOCATION_LOCK]);
      const { rows } = await tx.query<{ ledger_cert: string; status: string }>('SELECT ledger_cert, status FROM users WHERE username = $1 FOR UPDATE', [username]);
      if (!rows[0]) throw notFound('user', username);
      if (rows[0].status === 'revoked') throw conflict(`the identity of ${username} is already revoked`);
      const serialNumber = serialOf(rows[0].ledger_cert);
      await tx.query(`UPDATE users SET status = 'revoked' WHERE username = $1`, [username]);
      await tx.query('INSERT INTO revoked_certificates (serial_number, username, revoked_by, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [serialNumber, username, opts.by, opts.reason ?? null]);
      const crlPem = await this.signCurrent(tx);
      return { serialNumber, crlPem };
    });
    await this.ca.publishRevocationList(done.crlPem);
    return done;
  }

  /** Publishes the stored CRL again (at start: the peer may have been restored from before a revocation). */
  async publishCurrent(): Promise<void> {
    const { rows } = await this.db.query<{ crl_pem: string }>('SELECT crl_pem FROM certificate_revocation_list WHERE id = 1');
    if (rows[0]) await this.ca.publishRevocationList(rows[0].crl_pem);
  }

  async isRevoked(certPem: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM revoked_certificates WHERE serial_number = $1', [serialOf(certPem)]);
    return rows.length > 0;
  }

  private async signCurrent(tx: Pick<Database, 'query'>): Promise<string> {
    const { rows } = await tx.query<{ serial_number: string; revoked_at: Date | string }>('SELECT serial_number, revoked_at FROM revoked_certificates ORDER BY revoked_at, serial_number');
    const crlPem = await this.ca.signRevocationList(rows.map((r) => ({ serialNumber: r.serial_number, revokedAt: new Date(r.revoked_at) })));
    await tx.query(
      `INSERT INTO certificate_revocation_list (id, crl_pem, updated_at) VALUES (1, $1, now())
       ON CONFLICT (id) DO UPDATE SET crl_pem = EXCLUDED.crl_pem, updated_at = EXCLUDED.updated_at`,
      [crlPem],
    );
    return crlPem;
  }
}
