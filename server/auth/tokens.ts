import crypto from 'node:crypto';
import { SignJWT, createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { unauthorized } from '../fhir/outcome.js';
import { TOKEN_ALG, type HospitalSigningKey } from './signing-key.js';

export interface AccessClaims extends JWTPayload {
  sub: string;
  fhirUser?: string;
  scope?: string;
}

const MAX_LIFETIME_S = 3600;

/** Issues and verifies the hospital's bearer tokens (iss = aud = the FHIR base URL). */
export class TokenService {
  private readonly keySet;
  constructor(
    private readonly key: HospitalSigningKey,
    readonly issuer: string,
  ) {
    this.keySet = createLocalJWKSet({ keys: [{ ...key.publicJwk, kid: key.kid, alg: TOKEN_ALG }] });
  }

  async issue(claims: { sub: string; fhirUser?: string; scope?: string }, lifetimeSeconds = MAX_LIFETIME_S): Promise<string> {
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.key.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + Math.min(lifetimeSeconds, MAX_LIFETIME_S))
      .setJti(crypto.randomUUID())
      .sign(this.key.privateKey);
  }

  /** Verifies signature, issuer, audience and lifetime; any failure is a 401 OperationOutcome. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.keySet, { issuer: this.issuer, audience: this.issuer, algorithms: [TOKEN_ALG], typ: 'at+jwt' });
      if (typeof payload.sub !== 'string' || !payload.sub) throw unauthorized('the access token names no user');
      if (payload.exp && payload.iat && payload.exp - payload.iat > MAX_LIFETIME_S) throw unauthorized('the access token lives longer than one hour');
      return payload as AccessClaims;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthorized('the access token has expired');
      if (err instanceof errors.JOSEError) throw unauthorized(`the access token is not valid here: ${err.message}`);
      throw err;
    }
  }
}
