import type { NextFunction, Request, Response } from 'express';
import type { Queryable } from '../db/database.js';
import { clientOrigins } from './provider.js';

const REFRESH_MS = 5_000;

/** The origins of registered apps (their redirect and launch URIs), re-read at most every few seconds. */
export class RegisteredOrigins {
  private origins = new Set<string>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(private readonly db: Queryable) {}

  async has(origin: string): Promise<boolean> {
    if (this.origins.has(origin)) return true;
    // an unknown origin may belong to an app registered a moment ago (perhaps by another process)
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    return this.origins.has(origin);
  }

  /** Forget the cache (after a registration in this process). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const { rows } = await this.db.query<{ payload: { redirect_uris?: string[]; launch_uri?: string } }>(`SELECT payload FROM oauth_artifacts WHERE model = 'Client'`);
        this.origins = new Set(rows.flatMap((r) => clientOrigins(r.payload)));
        this.loadedAt = Date.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

const ALLOW_HEADERS = 'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, X-Requested-With';
const EXPOSE_HEADERS = 'Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, X-Ledger-Height, X-Request-Id';

/**
 * CORS for the FHIR API: the registered apps' origins only (the CapabilityStatement, like discovery, for
 * any origin). Answers preflight requests itself, before authentication.
 */
export function fhirCors(origins: RegisteredOrigins) {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    res.vary('Origin');
    const open = req.path === '/metadata';
    const decide = open ? Promise.resolve(true) : origins.has(origin);
    decide
      .then((allowed) => {
        if (!allowed) return next();
        res.set('Access-Control-Allow-Origin', open ? '*' : origin);
        if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
          res.set({ 'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE', 'Access-Control-Allow-Headers': ALLOW_HEADERS, 'Access-Control-Max-Age': '600' });
          return res.status(204).end();
        }
        res.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
        next();
      })
      .catch(next);
  };
}

/** `Access-Control-Allow-Origin: *` for public documents (discovery, JWKS, style). */
export function openCors(req: Request, res: Response, next: NextFunction) {
  res.set('Access-Control-Allow-Origin', '*');
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    res.set({ 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Accept, Content-Type', 'Access-Control-Max-Age': '3600' });
    return res.status(204).end();
  }
  next();
}
