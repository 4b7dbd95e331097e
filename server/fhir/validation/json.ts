import { FhirInputError } from './errors.js';

export interface ParseFhirJsonOptions {
  /** largest accepted body, in bytes (UTF-8); default 10 MiB */
  maxBytes?: number;
  /** deepest accepted nesting of objects and arrays; default 100 */
  maxDepth?: number;
}

export const DEFAULT_MAX_JSON_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 100;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parses a FHIR JSON body safely: size and nesting limits, no prototype-polluting keys, no duplicate
 * keys, and a JSON object at the top. Every failure is a FhirInputError; nothing here recurses, so
 * hostile nesting cannot exhaust the stack.
 */
export function parseFhirJson(input: string | Uint8Array, options: ParseFhirJsonOptions = {}): Record<string, unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const text = decode(input, maxBytes);
  scanStructure(text, maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FhirInputError(`malformed JSON: ${(e as Error).message}`, 'structure');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FhirInputError('a FHIR resource must be a JSON object', 'structure');
  }
  return value as Record<string, unknown>;
}

function decode(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === 'string') {
    // UTF-8 needs at least one byte per UTF-16 unit, so the length alone can reject without encoding.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) throw tooLarge(maxBytes);
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (input.byteLength > maxBytes) throw tooLarge(maxBytes);
  try {
    // fatal: invalid UTF-8 is an error, not U+FFFD; a leading BOM is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new FhirInputError('the body is not valid UTF-8', 'structure');
  }
}

function tooLarge(maxBytes: number): FhirInputError {
  return new FhirInputError(`the JSON body exceeds the limit of ${maxBytes} bytes`, 'too-long');
}

interface Frame {
  /** keys seen so far; undefined for arrays */
  keys: Set<string> | undefined;
  expectKey: boolean;
}

/**
 * One pass over the text that tracks nesting with an explicit stack, and checks every object key.
 * It does not validate syntax (JSON.parse does that next); on malformed input it may stop early or see
 * odd keys, and JSON.parse then rejects the text anyway.
 */
function scanStructure(text: string, maxDepth: number): void {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i + 1);
      if (end < 0) return;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        checkKey(text.slice(i + 1, end), top.keys);
        top.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) {
        throw new FhirInputError(`the JSON nests deeper than ${maxDepth} levels`, 'too-long');
      }
      stack.push(c === 0x7b ? { keys: new Set(), expectKey: true } : { keys: undefined, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
    i++;
  }
}

/** Index of the quote that closes a string starting at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  let j = text.indexOf('"', from);
  while (j >= 0) {
    let backslashes = 0;
    for (let k = j - 1; k >= from && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

function checkKey(raw: string, seen: Set<string>): void {
  let key = raw;
  if (raw.includes('\\')) {
    try {
      key = JSON.parse(`"${raw}"`) as string;
    } catch {
      return; // a malformed escape: JSON.parse of the whole text reports it
    }
  }
  if (FORBIDDEN_KEYS.has(key)) {
    throw new FhirInputError(`the JSON property name "${key}" is not allowed`, 'security');
  }
  if (seen.has(key)) {
    throw new FhirInputError(`the JSON object has the property "${key}" twice`, 'structure');
  }
  seen.add(key);
}
