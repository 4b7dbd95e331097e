import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { SignJWT, jwtVerify } from 'jose';

export const SESSION_COOKIE = 'consentry_session';
const LIFETIME_S = 8 * 3600;

export interface HospitalSession {
  username: string;
  /** per-session token that POST forms of the EHR page must echo */
  csrf: string;
}

/**
 * The hospital's browser session (one login for the authorization pages and the oncology EHR page): an
 * HS256 JWT in an HttpOnly, SameSite=Lax cookie.
 */
export class HospitalSessions {
  private readonly key: Uint8Array;

  constructor(secret: Buffer) {
    this.key = new Uint8Array(secret);
  }

  async start(req: Request, res: Response, username: string): Promise<void> {
    const jwt = await new SignJWT({ sub: username })
      .setProtectedHeader({ alg: 'HS256', typ: 'consentry-session+jwt' })
      .setIssuedAt()
      .setExpirationTime(`${LIFETIME_S}s`)
      .setJti(crypto.randomUUID())
      .sign(this.key);
    res.cookie(SESSION_COOKIE, jwt, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: LIFETIME_S * 1000 });
  }

  async read(req: Request): Promise<HospitalSession | undefined> {
    const raw = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!raw) return undefined;
    try {
      const { payload } = await jwtVerify(raw, this.key, { algorithms: ['HS256'], typ: 'consentry-session+jwt' });
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string') return undefined;
      return { username: payload.sub, csrf: this.csrfFor(payload.jti) };
    } catch {
      return undefined;
    }
  }

  end(res: Response): void {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  private csrfFor(jti: string): string {
    return crypto.createHmac('sha256', this.key).update(`csrf:${jti}`).digest('base64url');
  }
}

export function sameSecret(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
