import type { NextFunction, Request, Response } from 'express';
import { FhirError } from '../outcome.js';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const XML_FORMATS = new Set(['xml', 'text/xml', 'application/xml', 'application/fhir+xml', 'application/xml+fhir']);

/** Only JSON is served: `_format`/Accept asking for XML alone is 406, a non-JSON body is 415 (Binary excepted). */
export function negotiate(req: Request, _res: Response, next: NextFunction): void {
  const format = typeof req.query._format === 'string' ? req.query._format.toLowerCase() : undefined;
  if (format && !JSON_FORMATS.has(format)) {
    return next(new FhirError(406, 'not-supported', XML_FORMATS.has(format) ? 'this server speaks FHIR JSON only; XML is not supported' : `unknown _format "${format}"`));
  }
  const accept = req.headers.accept;
  if (!format && accept && !req.path.startsWith('/Binary') && !acceptsJson(accept)) {
    return next(new FhirError(406, 'not-supported', `cannot produce ${accept}; this server speaks application/fhir+json`));
  }
  next();
}

function acceptsJson(accept: string): boolean {
  return accept.split(',').some((part) => {
    const type = part.split(';')[0].trim().toLowerCase();
    return type === '*/*' || type === 'application/*' || JSON_FORMATS.has(type);
  });
}
