/**
 * Tokens whose signature, issuer, audience, type and lifetime this process has checked, by their exact bytes.
 * A SMART app sends the same access token with every request of its session; what jose establishes about
 * those bytes cannot change, except that time runs out, which a hit checks again. Revocation is not decided
 * here (the activity check runs on every request). Bounded: the oldest entries go first.
 */
export class VerifiedTokens<Claims extends { exp?: number; nbf?: number }> {
  private readonly entries = new Map<string, Claims>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The claims of a token verified before and still within its lifetime at `nowMs`. */
  get(token: string, nowMs: number): Claims | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    if (claims.exp === undefined || nowMs >= claims.exp * 1000 || (claims.nbf !== undefined && nowMs < claims.nbf * 1000)) {
      this.entries.delete(token); // the full check answers why (expired, not yet valid)
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: Claims): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, claims);
  }
}
