import express, { type Request, type Response } from 'express';
import { ROUTES, type SmartUrls } from './urls.js';

/**
 * SMART `authorize-post`: a form POST to the authorization endpoint is answered with a 303 to the same
 * request as a GET, which oidc-provider then validates like any other. (Its native POST support requires
 * SameSite=None cookies, which browsers refuse without TLS; a top-level GET keeps SameSite=Lax working.)
 */
export function authorizePost(urls: SmartUrls): express.Router {
  const router = express.Router();
  router.post(ROUTES.authorization, express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 }), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(body)) {
      // a repeated parameter stays repeated, so the GET is refused exactly as the POST should be
      for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') query.append(name, one);
    }
    res.set('Cache-Control', 'no-store').redirect(303, `${urls.authorize}?${query}`);
  });
  return router;
}
