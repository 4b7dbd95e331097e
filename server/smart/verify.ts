import { createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Database } from '../db/database.js';
import { nextPermissionBoundary } from '../repositories/permission-boundaries.js';
import { FhirError } from '../fhir/outcome.js';
import type { UserRow } from '../membership/users.js';
import { TOKEN_ALG, type HospitalSigningKey } from '../auth/signing-key.js';
import { parseScopes, type ParsedScope } from './scopes.js';
import { VerifiedTokens } from './verified-tokens.js';

/** What a valid, active access token lets its bearer do — the input of every enforcement decision. */
export interface AccessGrant {
  /** the user (username) the token acts for; absent for system (backend service) tokens */
  sub?: string;
  clientId: string;
  /** the granted scopes this server understands (unknown ones are dropped) */
  scopes: ParsedScope[];
  /** the FHIR Patient id in context: from the launch, or the patient themself for a patient's token */
  patient?: string;
  /** the user's FHIR identity at this hospital, e.g. `Practitioner/ryu`, `Patient/p1` */
  fhirUser?: string;
  encounter?: string;
  /** patient: a patient's own token; user: a practitioner's or admin's; system: a backend service's */
  kind: 'patient' | 'user' | 'system';
  /** the token's id and expiry (seconds since the epoch) */
  jti: string;
  exp: number;
  /** the authorization (oidc-provider Grant) the token was issued under, if any */
  grantId?: string;
}

/** The claims of this hospital's access tokens (JWT, ES256, typ at+jwt, iss = aud = the FHIR base). */
export interface AccessTokenClaims extends JWTPayload {
  client_id: string;
  scope?: string;
  grant_kind?: 'patient' | 'user' | 'system';
  grant_id?: string;
  patient?: string;
  encounter?: string;
}

export const MAX_ACCESS_TOKEN_LIFETIME_S = 3600;

interface ActivityRow {
  revoked: boolean;
  grant_active: boolean;
  grant_expires_at: Date | string | null;
  username: string | null;
  role: UserRow['role'] | null;
  fhir_user: string | null;
  display_name: string | null;
  ledger_cert: string | null;
  ledger_key_sealed: string | null;
  encryption_public_jwk: UserRow['encryption_public_jwk'] | null;
  encryption_key_sealed: string | null;
  pseudonym: string | null;
  npi: string | null;
  status: string | null;
}

// One round trip: is the jti revoked, does the grant still stand (and the ledger permission under it),
// and who is the user. A grant resting on a ledger permission is inactive once that permission is not.
const ACTIVITY = `SELECT
    EXISTS (SELECT 1 FROM smart_revoked_tokens WHERE jti = $1) AS revoked,
    ($2::text IS NULL OR EXISTS (
      SELECT 1 FROM oauth_artifacts g LEFT JOIN smart_grants sg ON sg.grant_id = g.id
      WHERE g.model = 'Grant' AND g.id = $2 AND (g.expires_at IS NULL OR g.expires_at > $4)
        AND (sg.permission_id IS NULL OR EXISTS (
          SELECT 1 FROM ledger_permissions lp
          WHERE lp.patient = sg.permission_patient AND lp.id = sg.permission_id
            AND lp.status = 'active' AND lp.valid_from <= $4 AND $4 < lp.valid_to)))) AS grant_active,
    (SELECT g.expires_at FROM oauth_artifacts g WHERE g.model = 'Grant' AND g.id = $2) AS grant_expires_at,
    u.username, u.role, u.fhir_user, u.display_name, u.ledger_cert, u.ledger_key_sealed, u.encryption_public_jwk,
    u.encryption_key_sealed, u.pseudonym, u.npi, u.status
  FROM (SELECT 1) one LEFT JOIN users u ON u.username = $3`;

/** 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750), as an OperationOutcome. */
export function invalidToken(description: string): FhirError {
  const safe = description.replace(/["\\\r\n]/g, ' ');
  return new FhirError(401, 'login', description, { headers: { 'WWW-Authenticate': `Bearer realm="consentry", error="invalid_token", error_description="${safe}"` } });
}

/** Verifies this hospital's access tokens: signature, issuer, audience, lifetime, and that nothing revoked them. */
export class AccessTokenVerifier {
  private readonly keys;
  private readonly verified = new VerifiedTokens<AccessTokenClaims>();
  private readonly answers = new WeakMap<ActivityRow, { grant: AccessGrant; user?: UserRow; claims: AccessTokenClaims }>();

  constructor(
    private readonly db: Database,
    key: HospitalSigningKey,
    readonly fhirBase: string,
  ) {
    this.keys = createLocalJWKSet({ keys: [{ ...key.publicJwk, kid: key.kid, alg: TOKEN_ALG }] });
  }

  /** The grant behind a token, or a 401 FhirError for a missing, invalid, expired or revoked one. */
  async verifyAccessToken(token: string | undefined): Promise<AccessGrant> {
    return (await this.verifyWithUser(token)).grant;
  }

  /** As verifyAccessToken, plus the user row (one database round trip for both). */
  async verifyWithUser(token: string | undefined): Promise<{ grant: AccessGrant; user?: UserRow; claims: AccessTokenClaims }> {
    if (!token) throw invalidToken('no access token');
    const claims = this.verified.get(token, Date.now()) ?? (await this.verifySignature(token));
    const row = await this.activity(claims);
    // the answer is a function of the claims and the activity row alone: while both are the ones remembered
    // (the same token, nothing changed in the database), so is the answer
    const known = this.answers.get(row);
    if (known !== undefined && known.claims === claims) return known;
    const answer = this.answer(claims, row);
    this.answers.set(row, answer);
    return answer;
  }

  private answer(claims: AccessTokenClaims, row: ActivityRow): { grant: AccessGrant; user?: UserRow; claims: AccessTokenClaims } {
    if (row.revoked) throw invalidToken('the access token has been revoked');
    if (!row.grant_active) throw invalidToken('the authorization behind this access token has been revoked or has ended');
    if (claims.grant_kind === 'system') {
      return { grant: { clientId: claims.client_id, scopes: parseScopes(claims.scope), kind: 'system', jti: claims.jti!, exp: claims.exp!, ...(claims.grant_id ? { grantId: claims.grant_id } : {}) }, claims };
    }
    if (!row.username || row.status !== 'active') throw invalidToken('the access token names no active user of this hospital');
    const user = row as unknown as UserRow;
    const ownPatient = user.role === 'patient' ? user.fhir_user.replace(/^Patient\//, '') : undefined;
    const grant: AccessGrant = {
      sub: user.username,
      clientId: claims.client_id,
      scopes: parseScopes(claims.scope),
      kind: user.role === 'patient' ? 'patient' : 'user',
      fhirUser: user.fhir_user,
      jti: claims.jti!,
      exp: claims.exp!,
    };
    // a patient's token is always about the patient themself, whatever a claim says
    const patient = ownPatient ?? claims.patient;
    if (patient) grant.patient = patient;
    if (claims.encounter) grant.encounter = claims.encounter;
    if (claims.grant_id) grant.grantId = claims.grant_id;
    return { grant, user, claims };
  }

  /**
   * The ACTIVITY row of a token, cached until the database changes (a revocation, a grant ended, a user
   * revoked, a projected block), a permission starts or ends, the grant expires or the token does.
   */
  private activity(claims: AccessTokenClaims): Promise<ActivityRow> {
    const nowMs = Date.now();
    const grantId = claims.grant_id ?? null;
    const sub = claims.grant_kind === 'system' ? null : (claims.sub ?? null);
    return this.db.cache.get(
      `token-activity ${claims.jti} ${grantId} ${sub}`,
      async () => {
        const boundary = await nextPermissionBoundary(this.db, this.db.cache, nowMs);
        const { rows } = await this.db.query<ActivityRow>(ACTIVITY, [claims.jti, grantId, sub, new Date(nowMs)]);
        const row = rows[0];
        const grantEnds = row.grant_expires_at == null ? Infinity : new Date(row.grant_expires_at).getTime();
        return { value: row, validUntilMs: Math.min(boundary, grantEnds, claims.exp! * 1000) };
      },
      nowMs,
    );
  }

  /** Signature, issuer, audience, type and lifetime only (also for revocation, where expiry does not matter). */
  async verifySignature(token: string, opts: { ignoreExpiry?: boolean } = {}): Promise<AccessTokenClaims> {
    if (!opts.ignoreExpiry) {
      const known = this.verified.get(token, Date.now());
      if (known) return known;
    }
    const claims = await this.checkSignature(token, opts);
    if (!opts.ignoreExpiry) this.verified.set(token, claims);
    return claims;
  }

  private async checkSignature(token: string, opts: { ignoreExpiry?: boolean }): Promise<AccessTokenClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.fhirBase,
        audience: this.fhirBase,
        algorithms: [TOKEN_ALG],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'jti'],
        ...(opts.ignoreExpiry ? { currentDate: new Date(0) } : {}),
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw invalidToken('the access token has expired');
      if (err instanceof errors.JOSEError) throw invalidToken(`the access token is not valid here: ${err.message}`);
      throw err;
    }
    if (typeof payload.client_id !== 'string' || !payload.client_id) throw invalidToken('the access token names no client');
    if (payload.grant_kind !== 'system' && (typeof payload.sub !== 'string' || !payload.sub)) throw invalidToken('the access token names no user');
    if (payload.exp! - payload.iat! > MAX_ACCESS_TOKEN_LIFETIME_S) throw invalidToken('the access token lives longer than one hour');
    return payload as AccessTokenClaims;
  }
}
