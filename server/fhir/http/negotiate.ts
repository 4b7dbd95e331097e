import type { NextFunction, Request, Response } from 'express';
import { FhirError } from '../outcome.js';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const XML_FORMATS = new Set(['xml', 'text/xml', 'application/xml', 'application/fhir+xml', 'application/xml+fhir']);

/** Only JSON is served: `_format`/Accept asking for XML alone is 406, a non-JSON body is 415 (Binary excepted). */
export function negotiate(req: Request, _res: Response, next: NextFunction): void {
  const format = mayHaveFormat(req.url) && typeof req.query._format === 'string' ? req.query._format.toLowerCase() : undefined;
  if (format && !JSON_FORMATS.has(format)) {
    return next(new FhirError(406, 'not-supported', XML_FORMATS.has(format) ? 'this server speaks FHIR JSON only; XML is not supported' : `unknown _format "${format}"`));
  }
  const accept = req.headers.accept;
  if (!format && accept && !acceptsJson(accept) && !req.path.startsWith('/Binary')) {
    return next(new FhirError(406, 'not-supported', `cannot produce ${accept}; this server speaks application/fhir+json`));
  }
  next();
}

/** Whether the query can hold a `_format` (parsing it is most of this middleware's work otherwise). */
function mayHaveFormat(url: string): boolean {
  const q = url.indexOf('?');
  // a key decodes to "_format" only from that text or from percent-escapes
  return q >= 0 && (url.includes('format', q) || url.includes('%', q));
}

// the Accept headers seen, and whether they admit JSON (clients send the same few over and over)
const acceptance = new Map<string, boolean>();

function acceptsJson(accept: string): boolean {
  let ok = acceptance.get(accept);
  if (ok === undefined) {
    ok = accept.split(',').some((part) => {
      const type = part.split(';')[0].trim().toLowerCase();
      return type === '*/*' || type === 'application/*' || JSON_FORMATS.has(type);
    });
    if (acceptance.size >= 256) acceptance.clear();
    acceptance.set(accept, ok);
  }
  return ok;
}
