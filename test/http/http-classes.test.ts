import http from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { expressHttpClasses } from '../../server/http-classes.js';

describe('requests and responses created with the app’s own prototypes', () => {
  it('serve exactly as express would, with no per-request prototype change', async () => {
    const classes = expressHttpClasses();
    const server = http.createServer(classes.serverOptions);
    const app = express();
    app.set('query parser', 'simple');
    const seen: { inPlace: boolean; app: boolean }[] = [];
    app.get('/x/:id', (req, res) => {
      seen.push({ inPlace: Object.getPrototypeOf(req) === (app as unknown as { request: object }).request, app: req.app === app && res.app === app });
      res.status(201).set('X-Id', req.params.id).json({ id: req.params.id, q: req.query.q, accept: req.get('accept') });
    });
    app.use((_req, res) => res.status(404).send('none'));
    classes.adopt(app);
    server.on('request', app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await fetch(`${base}/x/abc?q=1`, { headers: { accept: 'application/json' } });
      expect(r.status).toBe(201);
      expect(r.headers.get('x-id')).toBe('abc');
      expect(await r.json()).toEqual({ id: 'abc', q: '1', accept: 'application/json' });
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
      expect(seen).toEqual([{ inPlace: true, app: true }]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('keep one app per pair: a second node’s app gets its own prototypes', () => {
    const [one, two] = [expressHttpClasses(), expressHttpClasses()];
    const [a, b] = [express(), express()];
    one.adopt(a);
    two.adopt(b);
    const proto = (app: express.Express) => (app as unknown as { request: { app: unknown } }).request;
    expect(proto(a).app).toBe(a);
    expect(proto(b).app).toBe(b);
    expect(proto(a)).not.toBe(proto(b));
    // still an IncomingMessage, with express's request methods
    expect(proto(a)).toBeInstanceOf(http.IncomingMessage);
    expect(typeof (proto(a) as unknown as express.Request).get).toBe('function');
  });
});
