import fs from 'node:fs';
import path from 'node:path';
import express, { type Response } from 'express';
import { transform } from 'esbuild';
import { dataCategories, DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import { esc } from '../smart/pages/html.js';
import { PORTALS, type PortalClient, type PortalKind } from './clients.js';

const PUBLIC_DIR = new URL('./public/', import.meta.url).pathname;
const SMART_DIR = new URL('../smart/', import.meta.url).pathname;
/** The one scope parser of the server, served to the pages as ES modules (transpiled once, types stripped). */
const SHARED_MODULES = ['scopes', 'resource-types'];
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
// the pages load only their own scripts and styles; documents open from blob: URLs
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; frame-src blob:; object-src blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface PortalDeps {
  clients: () => Record<PortalKind, PortalClient> | undefined;
  fhirBase: string;
  mspId: string;
  /** every hospital's FHIR base by MSP id, this one included */
  hospitals: () => Record<string, string>;
  ehrUrl: string;
}

/** The patient, caregiver and admin portals: static pages that use only the public FHIR and OAuth APIs. */
export function portalRoutes(deps: PortalDeps): express.Router {
  const router = express.Router();
  // transpiled at start, so that no first visitor waits for esbuild
  const modules = new Map<string, Promise<string>>(SHARED_MODULES.map((name) => [name, transpile(name)]));
  for (const code of modules.values()) code.catch(() => undefined);
  const pages = new Map<PortalKind, string>();
  const categories = dataCategories().map((c) => ({ code: c.code, display: c.display }));

  router.get('/', (_req, res) => {
    const links = (Object.keys(PORTALS) as PortalKind[]).map((k) => `<li><a href="/portal/${k}/">${esc(PORTALS[k].name)}</a></li>`).join('');
    send(res, 'text/html; charset=utf-8', `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Consentry portals</title><link rel="stylesheet" href="/portal/assets/portal.css"></head><body><main><h1>Consentry — ${esc(deps.mspId)}</h1><ul>${links}</ul></main></body></html>`);
  });

  for (const kind of Object.keys(PORTALS) as PortalKind[]) {
    pages.set(kind, fs.readFileSync(path.join(PUBLIC_DIR, `${kind}.html`), 'utf8'));
    router.get(`/${kind}`, (req, res, next) => (req.path.endsWith('/') ? next() : res.redirect(301, `/portal/${kind}/`)));
    router.get(`/${kind}/`, (_req, res) => {
      const client = deps.clients()?.[kind];
      if (!client) return send(res.status(503), 'text/plain; charset=utf-8', 'the portal is starting; try again in a moment');
      const template = pages.get(kind)!;
      const config = {
        kind,
        clientId: client.clientId,
        redirectUri: client.redirectUri,
        scope: PORTALS[kind].scope,
        fhirBase: deps.fhirBase,
        mspId: deps.mspId,
        hospitals: deps.hospitals(),
        ehrUrl: deps.ehrUrl,
        categorySystem: DATA_CATEGORY_SYSTEM,
        categories,
      };
      // JSON in a non-executed script element; "<" escaped so no value can close the element
      const json = JSON.stringify(config).replace(/</g, '\\u003c');
      send(res, 'text/html; charset=utf-8', template.replace('{{CONFIG}}', json));
    });
  }

  router.get('/lib/:name.js', (req, res, next) => {
    const name = req.params.name;
    if (!SHARED_MODULES.includes(name)) return next();
    modules.get(name)!.then((js) => send(res, TYPES['.js'], js)).catch(next);
  });

  router.get('/assets/:file', (req, res, next) => {
    const file = req.params.file;
    const type = TYPES[path.extname(file)];
    if (!type || !/^[a-z-]+\.(js|css)$/.test(file)) return next();
    const full = path.join(PUBLIC_DIR, file);
    if (!fs.existsSync(full)) return next();
    send(res, type, fs.readFileSync(full));
  });

  return router;
}

async function transpile(name: string): Promise<string> {
  const source = await fs.promises.readFile(path.join(SMART_DIR, `${name}.ts`), 'utf8');
  return (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
}

function send(res: Response, type: string, body: string | Buffer): void {
  res.set({ 'Content-Type': type, 'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' }).send(body);
}
