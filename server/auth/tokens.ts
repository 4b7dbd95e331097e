import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { TOKEN_ALG, type HospitalSigningKey } from './signing-key.js';

/**
 * The built-in confidential client behind `npm run token` and HospitalNode.tokenFor: operators and tests
 * mint tokens offline with the hospital key; they verify through the same path as SMART tokens.
 */
export const CLI_CLIENT_ID = 'consentry-cli';

const MAX_LIFETIME_S = 3600;

/** Issues the hospital's bearer tokens offline (iss = aud = the FHIR base URL), as client `consentry-cli`. */
export class TokenService {
  constructor(
    private readonly key: HospitalSigningKey,
    readonly issuer: string,
  ) {}

  async issue(claims: { sub: string; scope?: string }, lifetimeSeconds = MAX_LIFETIME_S): Promise<string> {
    return new SignJWT({ ...claims, client_id: CLI_CLIENT_ID })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: this.key.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(this.issuer)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + Math.min(lifetimeSeconds, MAX_LIFETIME_S))
      .setJti(crypto.randomUUID())
      .sign(this.key.privateKey);
  }
}
