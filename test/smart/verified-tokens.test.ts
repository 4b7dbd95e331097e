import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../server/smart/verified-tokens.js';

describe('verified access tokens remembered by their bytes', () => {
  it('forgets a token once it expires or before it is valid, and the oldest beyond its bound', () => {
    const tokens = new VerifiedTokens<{ exp?: number; nbf?: number; jti: string }>(2);
    tokens.set('a', { exp: 100, jti: 'a' });
    expect(tokens.get('a', 99_999)?.jti).toBe('a');
    expect(tokens.get('a', 100_000)).toBeUndefined(); // expired: the full check must run (and refuse it)
    expect(tokens.get('a', 1)).toBeUndefined(); // and it stays forgotten
    tokens.set('n', { exp: 100, nbf: 50, jti: 'n' });
    expect(tokens.get('n', 49_999)).toBeUndefined();
    tokens.set('x', { jti: 'no exp' });
    expect(tokens.get('x', 0)).toBeUndefined();
    tokens.set('b', { exp: 100, jti: 'b' });
    tokens.set('c', { exp: 100, jti: 'c' });
    tokens.set('d', { exp: 100, jti: 'd' });
    expect(tokens.get('b', 0)).toBeUndefined();
    expect(tokens.get('d', 0)?.jti).toBe('d');
  });
});
