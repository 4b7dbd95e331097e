import { ALL_CATEGORIES, isCategory } from './categories.js';
import { invalid } from './errors.js';
import { parseJsonArg } from './json.js';
import {
  GRANTEE_KINDS,
  PURPOSES,
  RIGHTS,
  type Grantee,
  type GranteeKind,
  type Jwk,
  type Purpose,
  type Right,
} from './records.js';
import { normalizeInstant, parseInstant } from './time.js';

// Shape checks for transaction arguments. Inputs are untrusted JSON: unknown fields are refused so a
// client cannot smuggle server-set fields (status, grantedBy, ...) in.

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MSP_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PRACTITIONER_ID = /^[A-Za-z0-9._-]{1,64}\/Practitioner\/[A-Za-z0-9.-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const LOINC = /^\d{1,8}-\d$/;
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(?:\s*;[\x20-\x7e]{0,200})?$/;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export type Json = Record<string, unknown>;

export function objectArg(text: string, what: string, allowed: readonly string[]): Json {
  const value = parseJsonArg(text, what);
  return asObject(value, what, allowed);
}

export function asObject(value: unknown, what: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${what} must be a JSON object`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${what} has an unknown field "${key}"`);
  }
  return value as Json;
}

export function id(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw invalid(`${what} must be 1-128 characters of A-Z a-z 0-9 . _ : -`);
  }
  return value;
}

export function mspId(value: unknown, what: string): string {
  if (typeof value !== 'string' || !MSP_ID.test(value)) throw invalid(`${what} must be an MSP id`);
  return value;
}

export function practitionerLedgerId(value: unknown, what: string): string {
  if (typeof value !== 'string' || !PRACTITIONER_ID.test(value)) {
    throw invalid(`${what} must look like "<MSP id>/Practitioner/<id>"`);
  }
  return value;
}

export function text(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw invalid(`${what} must be a non-empty string of at most ${max} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(`${what} must not contain control characters`);
  return value;
}

export function optionalText(value: unknown, what: string, max: number): string | undefined {
  return value === undefined ? undefined : text(value, what, max);
}

export function hex64(value: unknown, what: string): string {
  if (typeof value !== 'string' || !HEX64.test(value)) throw invalid(`${what} must be 64 lowercase hex digits`);
  return value;
}

export function count(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`${what} must be an integer >= ${min}`);
  }
  return value;
}

export function loinc(value: unknown, what: string): string {
  if (typeof value !== 'string' || !LOINC.test(value)) throw invalid(`${what} must be a LOINC code like "11506-3"`);
  return value;
}

export function contentType(value: unknown, what: string): string {
  if (typeof value !== 'string' || !CONTENT_TYPE.test(value)) throw invalid(`${what} must be a media type`);
  return value;
}

export function npi(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{10}$/.test(value)) throw invalid('npi must be 10 digits');
  return value;
}

/** A public JWK: an object with kty and without private members. */
export function publicJwk(value: unknown, what: string): Jwk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} must be a JWK object`);
  const jwk = value as Json;
  if (typeof jwk.kty !== 'string' || !['EC', 'RSA', 'OKP'].includes(jwk.kty)) {
    throw invalid(`${what} must be a JWK with kty EC, RSA or OKP`);
  }
  for (const member of PRIVATE_JWK_MEMBERS) {
    if (member in jwk) throw invalid(`${what} must be a public key (it has the private member "${member}")`);
  }
  for (const [k, v] of Object.entries(jwk)) {
    const ok = typeof v === 'string' || typeof v === 'boolean' || (Array.isArray(v) && v.every((e) => typeof e === 'string'));
    if (!ok) throw invalid(`${what}.${k} must be a string, boolean or list of strings`);
  }
  return jwk as Jwk;
}

/** A public EC P-256 JWK (an ES256 verification key). */
export function p256PublicJwk(value: unknown, what: string): Jwk {
  const jwk = publicJwk(value, what);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw invalid(`${what} must be an EC P-256 public key`);
  return jwk;
}

export function instant(value: unknown, what: string): string {
  return normalizeInstant(value, what);
}

export function instantMs(value: unknown, what: string): number {
  return parseInstant(value, what);
}

export function grantee(value: unknown, what = 'grantee'): Grantee {
  const g = asObject(value, what, ['kind', 'id']);
  if (typeof g.kind !== 'string' || !(GRANTEE_KINDS as readonly string[]).includes(g.kind)) {
    throw invalid(`${what}.kind must be one of ${GRANTEE_KINDS.join(', ')}`);
  }
  const kind = g.kind as GranteeKind;
  let granteeId: string;
  if (kind === 'practitioner') granteeId = practitionerLedgerId(g.id, `${what}.id`);
  else if (kind === 'organization') granteeId = mspId(g.id, `${what}.id`);
  else granteeId = id(g.id, `${what}.id`);
  return { kind, id: granteeId };
}

export function rights(value: unknown): Right[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('rights must be a non-empty list');
  for (const r of value) {
    if (!(RIGHTS as readonly unknown[]).includes(r)) throw invalid(`unknown right ${JSON.stringify(r)} (read, write, share)`);
  }
  return RIGHTS.filter((r) => value.includes(r));
}

export function right(value: unknown): Right {
  if (!(RIGHTS as readonly unknown[]).includes(value)) throw invalid(`right must be one of ${RIGHTS.join(', ')}`);
  return value as Right;
}

/** Categories of a permission: known codes or "*", deduplicated, "*" first then the codes sorted. */
export function permissionCategories(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('categories must be a non-empty list');
  for (const c of value) {
    if (c !== ALL_CATEGORIES && !isCategory(c)) throw invalid(`unknown category ${JSON.stringify(c)}`);
  }
  return [...new Set(value as string[])].sort();
}

export function documentCategory(value: unknown, what = 'category'): string {
  if (!isCategory(value)) throw invalid(`${what} must be a known category code (not "*"): ${JSON.stringify(value)}`);
  return value;
}

export function purpose(value: unknown): Purpose {
  if (!(PURPOSES as readonly unknown[]).includes(value)) throw invalid(`purpose must be one of ${PURPOSES.join(', ')}`);
  if (value === 'BTG') throw invalid('purpose BTG is only set by EmergencyAccess');
  return value as Purpose;
}

export function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${what} must be true or false`);
  return value;
}

/** Parses a list of string arguments as JSON: [string, ...]. */
export function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(`${what} must be a list of strings`);
  return value as string[];
}
