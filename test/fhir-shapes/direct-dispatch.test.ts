import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directDispatch } from '../../server/fhir/http/direct-dispatch.js';

// An application shaped like createApp's (mounts before /fhir, CORS, the FHIR router's middleware, extra
// routes, the interactions, 404s and the error handler) whose every handler records how it saw the request.
// With and without the direct dispatch in front, every request must be answered the same, through the same
// handlers seeing the same baseUrl, url and params.
type Traced = Request & { trace?: string[] };
const see = (name: string) => (req: Request) => {
  const r = req as Traced;
  (r.trace ??= []).push(`${name} ${req.baseUrl} ${req.url} ${JSON.stringify(req.params)} ${req.path}`);
};
const answer = (name: string, status = 200): RequestHandler => (req, res) => {
  see(name)(req);
  res.status(status).json({ by: name, trace: (req as Traced).trace });
};
const pass = (name: string): RequestHandler => (req, _res, next) => {
  see(name)(req);
  next();
};

function build(direct: boolean): { app: express.Express; routed: () => number } {
  const app = express();
  app.set('etag', false);
  const cors: RequestHandler = (req, res, next) => {
    see('cors')(req);
    if (!req.headers.origin) return next();
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
    setImmediate(next);
  };
  const ledgerHeight = pass('height');
  const negotiate: RequestHandler = (req, _res, next) => {
    see('negotiate')(req);
    if (req.query._format === 'xml') return next(Object.assign(new Error('xml'), { status: 406 }));
    next();
  };
  const authenticated: RequestHandler = (req, _res, next) => {
    see('auth')(req);
    if (!req.headers.authorization) return next(Object.assign(new Error('no token'), { status: 401 }));
    void Promise.resolve().then(() => next());
  };
  const interactions = express.Router();
  interactions.post('/', answer('transaction'));
  interactions.get('/:type', answer('search'));
  interactions.post('/:type/_search', answer('post-search'));
  interactions.get('/:type/:id', (req, res, next) => {
    see('read')(req);
    if (req.params.id === 'pass') return next();
    if (req.params.id === 'throw') throw Object.assign(new Error('thrown'), { status: 500 });
    if (req.params.id === 'reject') return Promise.reject(Object.assign(new Error('rejected'), { status: 502 }));
    if (req.params.id === 'later') return void setImmediate(() => next(Object.assign(new Error('later'), { status: 503 })));
    res.json({ by: 'read', trace: (req as Traced).trace });
  });
  interactions.get('/:type/:id/_history', answer('history'));
  interactions.put('/:type/:id', answer('update'));
  const notFound: RequestHandler = (req, _res, next) => {
    see('fhir-404')(req);
    next(Object.assign(new Error('no interaction'), { status: 404 }));
  };
  const fhir = express.Router();
  // how often express itself routed a request into the FHIR router
  let routed = 0;
  const inner = fhir as unknown as { handle: (...args: unknown[]) => unknown };
  const handle = inner.handle.bind(fhir);
  inner.handle = (...args) => {
    routed++;
    return handle(...args);
  };
  if (direct) directDispatch({ app, mountedBefore: cors, fhir, middleware: [ledgerHeight, negotiate, authenticated], interactions, after: notFound });
  app.get('/health', answer('health'));
  app.options('/fhir/.well-known/smart-configuration', answer('smart-options'));
  app.get('/fhir/.well-known/smart-configuration', answer('smart-configuration'));
  app.use('/fhir/auth', answer('authorization-server'));
  app.use('/portal', answer('portal'));
  app.use('/fhir', cors);
  fhir.use(ledgerHeight);
  fhir.use(negotiate);
  fhir.get('/metadata', answer('metadata'));
  fhir.use(authenticated);
  fhir.get('/\\$ledger-status', answer('ledger-status'));
  fhir.use('/Binary', pass('binary-access'));
  fhir.get('/Binary/:id', answer('binary'));
  fhir.post('/Patient/:id/\\$erase', answer('erase'));
  fhir.get('/Consent/:id', answer('extra-consent-read'));
  fhir.use(interactions);
  fhir.use(notFound);
  app.use('/fhir', fhir);
  app.use(answer('app-404', 404));
  app.use((err: { status?: number; message: string }, req: Request, res: Response, _next: NextFunction) => {
    see('error')(req);
    res.status(err.status ?? 500).json({ error: err.message, trace: (req as Traced).trace });
  });
  return { app, routed: () => routed };
}

async function listen(app: express.Express): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('direct dispatch of FHIR GETs', () => {
  const servers: http.Server[] = [];
  let plain: string;
  let direct: string;
  beforeAll(async () => {
    for (const [i, d] of [false, true].entries()) {
      const { server, url } = await listen(build(d).app);
      servers.push(server);
      if (i === 0) plain = url;
      else direct = url;
    }
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  const auth = { authorization: 'Bearer x' };
  const requests: [string, string, Record<string, string>][] = [
    ['GET', '/fhir/DocumentReference?patient=p1', auth],
    ['GET', '/fhir/DocumentReference/d1', auth],
    ['GET', '/fhir/DocumentReference/d1?_pretty=true', auth],
    ['GET', '/fhir/DocumentReference', {}],
    ['GET', '/fhir/DocumentReference?_format=xml', auth],
    ['GET', '/fhir/DocumentReference', { ...auth, origin: 'https://app.example' }],
    ['GET', '/fhir/DocumentReference/pass', auth],
    ['GET', '/fhir/DocumentReference/throw', auth],
    ['GET', '/fhir/DocumentReference/reject', auth],
    ['GET', '/fhir/DocumentReference/later', auth],
    ['GET', '/fhir/DocumentReference/d1/_history', auth],
    ['GET', '/fhir/DocumentReference/d1/', auth],
    ['GET', '/fhir/documentreference/D1', auth],
    ['GET', '/FHIR/DocumentReference/d1', auth],
    ['GET', '/fhir/DocumentReference/d%31', auth],
    ['GET', '/fhir/Consent/c1', auth],
    ['GET', '/fhir/Binary/b1', auth],
    ['GET', '/fhir/binary', auth],
    ['GET', '/fhir/metadata', {}],
    ['GET', '/fhir/Metadata', {}],
    ['GET', '/fhir/auth', {}],
    ['GET', '/fhir/auth/x', {}],
    ['GET', '/fhir/.well-known/smart-configuration', {}],
    ['GET', '/fhir', auth],
    ['GET', '/fhir/', auth],
    ['GET', '/portal/x', {}],
    ['GET', '/health', {}],
    ['GET', '/elsewhere', {}],
    ['HEAD', '/fhir/DocumentReference/d1', auth],
    ['OPTIONS', '/fhir/DocumentReference/d1', auth],
    ['PUT', '/fhir/DocumentReference/d1', auth],
    ['POST', '/fhir/Patient/p1/$erase', auth],
  ];

  it('answers every request as express alone does, through the same handlers', async () => {
    for (const [method, path, headers] of requests) {
      const [a, b] = await Promise.all([plain, direct].map((base) => fetch(base + path, { method, headers })));
      const seen = async (r: globalThis.Response) => ({ status: r.status, poweredBy: r.headers.get('x-powered-by'), allow: r.headers.get('allow'), cors: r.headers.get('access-control-allow-origin'), type: r.headers.get('content-type'), body: await r.text() });
      expect(await seen(b), `${method} ${path}`).toEqual(await seen(a));
    }
  });

  it('runs plain reads and searches itself, through the same handlers, and leaves the rest to express', async () => {
    const { app, routed } = build(true);
    const { server, url } = await listen(app);
    try {
      const trace = async (path: string) => ((await (await fetch(url + path, { headers: auth })).json()) as { trace: string[] }).trace.map((t) => t.split(' ')[0]);
      expect(await trace('/fhir/DocumentReference/d1')).toEqual(['cors', 'height', 'negotiate', 'auth', 'read']);
      expect(await trace('/fhir/DocumentReference?patient=p1')).toEqual(['cors', 'height', 'negotiate', 'auth', 'search']);
      expect(await trace('/fhir/DocumentReference/later')).toEqual(['cors', 'height', 'negotiate', 'auth', 'read', 'error']);
      expect(routed()).toBe(0);
      expect(await trace('/fhir/Consent/c1')).toEqual(['cors', 'height', 'negotiate', 'auth', 'extra-consent-read']);
      expect(await trace('/fhir/Binary/b1')).toEqual(['cors', 'height', 'negotiate', 'auth', 'binary-access', 'binary']);
      expect(await trace('/fhir/metadata')).toEqual(['cors', 'height', 'negotiate', 'metadata']);
      expect(routed()).toBe(3);
    } finally {
      server.close();
    }
  });
});
