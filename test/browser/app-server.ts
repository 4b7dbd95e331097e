import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';

const APP_DIR = new URL('./app/', import.meta.url).pathname;
const FHIRCLIENT_BUNDLE = createRequire(import.meta.url).resolve('fhirclient/build/fhir-client.min.js');
const FILES: Record<string, { file: string; type: string }> = {
  '/launch.html': { file: path.join(APP_DIR, 'launch.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: path.join(APP_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/launch.js': { file: path.join(APP_DIR, 'launch.js'), type: 'text/javascript; charset=utf-8' },
  '/index.js': { file: path.join(APP_DIR, 'index.js'), type: 'text/javascript; charset=utf-8' },
  '/fhir-client.js': { file: FHIRCLIENT_BUNDLE, type: 'text/javascript; charset=utf-8' },
};

/** What the app knows once registered: its client id, its home hospital's FHIR base, the data-category system. */
export interface AppConfig {
  clientId: string;
  fhirBase: string;
  categorySystem: string;
}

export interface AppServer {
  /** `http://127.0.0.1:<port>`: another site than the hospital's `localhost`, as a real app would be */
  origin: string;
  configure(config: AppConfig): void;
  stop(): Promise<void>;
}

/** A static file server for the test SMART app (test/browser/app) and fhirclient's browser bundle. */
export async function startAppServer(): Promise<AppServer> {
  let config: AppConfig | undefined;
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://app').pathname;
    const headers = { 'cache-control': 'no-store' };
    if (req.method !== 'GET') return res.writeHead(405, headers).end();
    if (pathname === '/config.js') {
      if (!config) return res.writeHead(503, headers).end();
      return res.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }).end(`window.SMART_APP = ${JSON.stringify(config)};\n`);
    }
    const entry = FILES[pathname];
    if (!entry) return res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'content-type': entry.type });
    fs.createReadStream(entry.file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    configure(c) {
      config = c;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
