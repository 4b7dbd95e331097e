import dc from 'node:diagnostics_channel';
import type { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express';

/** The parts of express's (router 2.x) layers and routes this module reads. */
interface Layer {
  handle: (...args: never[]) => unknown;
  route?: { _handlesMethod(method: string): boolean };
  slash: boolean;
  match(path: string): false | { params: Record<string, string>; path: string };
}
type Stack = Layer[];
const stackOf = (router: unknown): Stack => (router as { stack: Stack }).stack;
const hasParamHandlers = (router: unknown) => Object.keys((router as { params?: object }).params ?? {}).length > 0;

const tracing = dc.tracingChannel('express.router.request');
const traced = () => tracing.start.hasSubscribers || tracing.end.hasSubscribers || tracing.asyncStart.hasSubscribers || tracing.asyncEnd.hasSubscribers || tracing.error.hasSubscribers;

interface Plan {
  run: RequestHandler[];
  route: Layer;
  params: Record<string, string>;
}
const MAX_PLANS = 1000;

/** `/fhir` and one or two plain segments (no escapes, nothing path-to-regexp or parseurl treat specially). */
const PLAIN_PATH = /^\/fhir(?:\/[A-Za-z0-9\-._]+){1,2}$/;

export interface DirectDispatchOptions {
  /** the application: the dispatch becomes its first layer (call this before any other layer is added) */
  app: Express;
  /** the middleware mounted at `/fhir` before the FHIR router (CORS) */
  mountedBefore: RequestHandler;
  /** the FHIR router, mounted at `/fhir` */
  fhir: Router;
  /** the unpathed middleware of the FHIR router it may run itself (every other one that matches hands the request back to express) */
  middleware: readonly RequestHandler[];
  /** the FHIR interactions, an unpathed router inside the FHIR router */
  interactions: Router;
  /** the FHIR router's layer after the interactions (the 404) */
  after: RequestHandler;
}

/**
 * Express walks every layer of the application for every request, and each layer that matches costs a
 * round of closures, match objects and URL rewriting; a FHIR read passes some 60 layers and 7 matches before
 * its handler runs. This runs a GET whose path is `/fhir/<a>` or `/fhir/<a>/<b>` the way express would, but
 * directly: it asks every layer express would consult, with express's own matchers, whether it matches, and
 * proceeds only when exactly the expected ones do (the CORS and FHIR mounts, the FHIR router's own
 * middleware, one GET route of the interactions); the answer is remembered by path until a layer is added.
 * Then it runs those middleware and the route with the request as express would present it (baseUrl, url,
 * params); an error goes to express as if from the application's first layer, and so through the same
 * layers to the error handler. Anything else (another method or path, a path another layer matches, tracing
 * subscribers) is express's. The middleware and handlers it runs call next() with nothing or an error, never
 * 'route' or 'router'; the layer after the interactions always passes an error.
 */
export function directDispatch(opts: DirectDispatchOptions): void {
  const own = new Set<unknown>(opts.middleware);
  let self: Layer | undefined;
  // plans by path, while no layer is added (express only ever appends layers)
  const plans = new Map<string, Plan | undefined>();
  let layers = -1;

  function planned(path: string): Plan | undefined {
    const count = stackOf(opts.app.router).length + stackOf(opts.fhir).length + stackOf(opts.interactions).length;
    if (count !== layers || plans.size >= MAX_PLANS) {
      plans.clear();
      layers = count;
    }
    if (plans.has(path)) return plans.get(path);
    const p = plan(path);
    plans.set(path, p);
    return p;
  }

  /** The handlers to run and the route layer with its match, or undefined to leave the request to express. */
  function plan(path: string): Plan | undefined {
    const appStack = stackOf(opts.app.router);
    self ??= appStack.find((l) => l.handle === (firstLayer as unknown));
    let i = self ? appStack.indexOf(self) + 1 : appStack.length;
    const run: RequestHandler[] = [];
    // the application, up to the FHIR mount: only the middleware mounted at /fhir before it may match
    for (; i < appStack.length; i++) {
      const layer = appStack[i];
      if (layer.route && !layer.route._handlesMethod('GET')) continue;
      const m = layer.match(path);
      if (!m) continue;
      if (m.path !== '/fhir' || layer.route || layer.handle.length > 3) return undefined;
      if (layer.handle === (opts.fhir as unknown)) break;
      if (layer.handle !== (opts.mountedBefore as unknown)) return undefined;
      run.push(opts.mountedBefore);
    }
    if (i === appStack.length || hasParamHandlers(opts.fhir) || hasParamHandlers(opts.interactions)) return undefined;
    const sub = path.slice(5);
    const fhirStack = stackOf(opts.fhir);
    let j = 0;
    let route: Layer | undefined;
    let params: Record<string, string> | undefined;
    for (; j < fhirStack.length; j++) {
      const layer = fhirStack[j];
      if (layer.handle.length > 3) return undefined;
      if (layer.route && !layer.route._handlesMethod('GET')) continue;
      if (!layer.match(sub)) continue;
      if (layer.route || !layer.slash) return undefined;
      if (layer.handle === (opts.interactions as unknown)) break;
      if (!own.has(layer.handle)) return undefined;
      run.push(layer.handle as RequestHandler);
    }
    if (j === fhirStack.length || fhirStack[j + 1]?.handle !== (opts.after as unknown)) return undefined;
    // the interactions: exactly one GET route matches (so its next() leads to the 404 after them)
    for (const layer of stackOf(opts.interactions)) {
      if (layer.handle.length > 3) return undefined;
      if (layer.route && !layer.route._handlesMethod('GET')) continue;
      const m = layer.match(sub);
      if (!m) continue;
      if (!layer.route || route) return undefined;
      route = layer;
      params = m.params;
    }
    return route && params ? { run, route, params } : undefined;
  }

  function planFor(req: Request): Plan | undefined {
    const url = req.url;
    if (req.method !== 'GET' || url.charCodeAt(0) !== 47 /* / */) return undefined;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!PLAIN_PATH.test(path) || traced()) return undefined;
    return planned(path);
  }

  function run(req: Request, res: Response, p: Plan, next: (err?: unknown) => void): void {
    const url = req.url;
    // as inside the /fhir mount
    req.baseUrl = '/fhir';
    req.url = url.slice(5);
    let step = 0;
    let finished = false;
    const fail = (err: unknown) => {
      if (finished) return;
      finished = true;
      // as when the error leaves the /fhir mount
      req.baseUrl = '';
      req.url = url;
      req.params = {};
      next(err);
    };
    const proceed = (err?: unknown): void => {
      if (err) return fail(err);
      if (step < p.run.length) {
        req.params = {};
        return invoke(p.run[step++], req, res, proceed);
      }
      if (step++ === p.run.length) {
        req.params = Object.assign(Object.create(Object.getPrototypeOf(p.params) as object | null) as Record<string, string>, p.params);
        return invoke(p.route.handle as RequestHandler, req, res, proceed);
      }
      // the route passed the request on: the FHIR router's next layer
      req.params = {};
      invoke(opts.after, req, res, fail);
    };
    req.next = proceed;
    proceed();
  }

  // errors of requests run before express got them, for the first layer to hand on
  const pending = new WeakMap<Request, unknown>();
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    if (pending.has(req)) {
      const err = pending.get(req);
      pending.delete(req);
      return next(err);
    }
    const p = planFor(req);
    if (!p) return next();
    run(req, res, p, next);
  };
  const firstLayer: RequestHandler = handler;
  opts.app.use(firstLayer);

  // Before express, too: what express's app.handle and its router do before they call the first layer
  // (set the request up, walk to it) costs a request about as much as the layers it walks. A request this
  // takes is set up as app.handle sets it up; an error it meets is handed to express (which then walks the
  // application as it would have, the first layer passing the error on).
  const app = opts.app as unknown as ExpressApp;
  const expressHandle = app.handle;
  app.handle = function handle(this: ExpressApp, req: Request, res: Response, callback?: NextFunction) {
    const p = callback === undefined && this === app ? planFor(req) : undefined;
    if (p === undefined) return expressHandle.call(this, req, res, callback);
    if (app.enabled('x-powered-by')) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as Record<string, unknown>;
    req.baseUrl = '';
    req.originalUrl = req.originalUrl || req.url;
    req.params = {};
    run(req, res, p, (err) => {
      if (err !== undefined) pending.set(req, err);
      expressHandle.call(app, req, res);
    });
  };
}

interface ExpressApp {
  handle(req: Request, res: Response, callback?: NextFunction): void;
  enabled(setting: string): boolean;
  request: object;
  response: object;
  router: unknown;
}

/** As express invokes a handler: a throw or a rejected promise is an error passed on. */
function invoke(fn: RequestHandler, req: Request, res: Response, next: (err?: unknown) => void): void {
  try {
    const ret = fn(req, res, next) as unknown;
    if (ret instanceof Promise) ret.then(undefined, (error: unknown) => next(error || new Error('Rejected promise')));
  } catch (err) {
    next(err);
  }
}
