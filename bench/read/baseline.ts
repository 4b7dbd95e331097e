// bench:read's baseline: a bare express endpoint in a process of the same kind as the FHIR server (node with
// tsx), that verifies the same bearer token with jose exactly as the server does (same key, signature, iss,
// aud, exp, alg, typ) and answers the very bytes the FHIR server answered for the same request.
import http from 'node:http';
import express from 'express';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { serve } from './ipc.js';

interface Setup {
  issuer: string;
  publicJwk: JWK & { kid: string };
  /** request path (with query) → the FHIR server's response body for it */
  bodies: Record<string, string>;
}

let server: http.Server | undefined;

serve({
  async start(setup: Setup) {
    const keys = createLocalJWKSet({ keys: [{ ...setup.publicJwk, alg: 'ES256' }] });
    const bodies = new Map(Object.entries(setup.bodies).map(([k, v]) => [k, Buffer.from(v)]));
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.get('/fhir/*path', (req, res) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) return void res.status(401).end();
      jwtVerify(m[1], keys, { issuer: setup.issuer, audience: setup.issuer, algorithms: ['ES256'], typ: 'at+jwt' }).then(
        () => {
          const body = bodies.get(req.originalUrl);
          if (!body) return void res.status(404).end();
          res.type('application/fhir+json; charset=utf-8').send(body);
        },
        () => void res.status(401).end(),
      );
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  },
});

process.once('SIGTERM', () => {
  server?.closeAllConnections();
  server?.close(() => process.exit(0));
});
