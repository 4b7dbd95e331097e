// Checks @medplum/core's validator leaves out, in one walk over the resource:
// - required terminology bindings: every element bound `required` to a value set we can enumerate (the R4
//   value sets and ours) must hold one of its codes. Value sets built from filters, imports or external
//   code systems (MIME types, languages) are skipped.
// - calendar dates: date, dateTime and instant values must name a real day (its patterns allow 2025-02-30).
import { getDataType, isDataTypeLoaded, isResourceType, type InternalTypeSchema } from '@medplum/core';
import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import { conformanceResource } from '../../../profiles/index.js';
import { r4Terminology } from './definitions.js';
import type { ValidationIssue } from './issues.js';

const PRIMITIVES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
  'http://hl7.org/fhirpath/System.String',
]);

/** system → codes; undefined when the value set cannot be enumerated here. */
type Expansion = ReadonlyMap<string, ReadonlySet<string>> | undefined;
const expansions = new Map<string, Expansion>();

export function checkSupplementary(resource: Record<string, unknown>, schema: InternalTypeSchema): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  walk(resource, schema, schema.path, issues);
  return issues;
}

function walk(value: Record<string, unknown>, schema: InternalTypeSchema, path: string, issues: ValidationIssue[]): void {
  for (const [key, child] of Object.entries(value)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const found = elementFor(schema, key);
    if (!found) continue; // unknown elements are the structural validator's to report
    const [element, typeCode] = found;
    const items = Array.isArray(child) ? child : [child];
    items.forEach((item: unknown, i) => {
      const itemPath = Array.isArray(child) ? `${path}.${key}[${i}]` : `${path}.${key}`;
      const binding = element.binding;
      if (binding?.strength === 'required' && binding.valueSet && typeCode) {
        checkBinding(item, typeCode, binding.valueSet, itemPath, issues);
      }
      if ((typeCode === 'date' || typeCode === 'dateTime' || typeCode === 'instant') && typeof item === 'string' && !isCalendarDate(item)) {
        issues.push({ severity: 'error', code: 'value', expression: itemPath, diagnostics: `${JSON.stringify(item)} is not a real calendar date` });
      }
      if (typeof item !== 'object' || item === null || !typeCode || PRIMITIVES.has(typeCode)) return;
      const record = item as Record<string, unknown>;
      if (typeCode === 'Resource') {
        const rt = record.resourceType;
        if (typeof rt === 'string' && isResourceType(rt)) walk(record, getDataType(rt), itemPath, issues);
      } else if (isDataTypeLoaded(typeCode)) {
        walk(record, getDataType(typeCode), itemPath, issues);
      }
    });
  }
}

type SchemaElement = InternalTypeSchema['elements'][string];

/** The element a JSON key names, and its type (resolving choice types such as valueCode). */
function elementFor(schema: InternalTypeSchema, key: string): [SchemaElement, string | undefined] | undefined {
  const direct = schema.elements[key];
  if (direct) return [direct, direct.type.length === 1 ? direct.type[0].code : undefined];
  for (const [name, element] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const stem = name.slice(0, -3);
    if (!key.startsWith(stem)) continue;
    const suffix = key.slice(stem.length);
    const type = element.type.find((t) => t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
    if (type) return [element, type.code];
  }
  return undefined;
}

function checkBinding(item: unknown, typeCode: string, valueSet: string, path: string, issues: ValidationIssue[]): void {
  const expansion = expand(valueSet);
  if (!expansion) return;
  const vs = valueSet.split('|')[0];
  const inSet = (system: unknown, code: unknown) =>
    typeof system === 'string' && typeof code === 'string' && expansion.get(system)?.has(code) === true;
  let ok: boolean;
  let shown: string;
  if (typeCode === 'Coding') {
    const c = item as { system?: unknown; code?: unknown };
    ok = inSet(c?.system, c?.code);
    shown = `${String(c?.system)}|${String(c?.code)}`;
  } else if (typeCode === 'CodeableConcept') {
    const codings = (item as { coding?: unknown })?.coding;
    ok = Array.isArray(codings) && codings.some((c: { system?: unknown; code?: unknown }) => inSet(c?.system, c?.code));
    shown = 'no coding from it';
  } else {
    ok = typeof item === 'string' && [...expansion.values()].some((codes) => codes.has(item));
    shown = JSON.stringify(item);
  }
  if (!ok) {
    issues.push({
      severity: 'error',
      code: 'code-invalid',
      expression: path,
      diagnostics: `${shown} is not in the required value set ${vs}`,
    });
  }
}

const DATE_PART = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/;

/** Whether the date part of a (well-formed) date, dateTime or instant exists; the format is the validator's. */
export function isCalendarDate(value: string): boolean {
  const m = DATE_PART.exec(value);
  if (!m || m[3] === undefined) return true;
  const year = Number(m[1]), month = Number(m[2]), day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function expand(valueSetUrl: string): Expansion {
  const url = valueSetUrl.split('|')[0];
  if (expansions.has(url)) return expansions.get(url);
  const result = computeExpansion(url);
  expansions.set(url, result);
  return result;
}

function lookup(url: string): CodeSystem | ValueSet | undefined {
  const ours = conformanceResource(url);
  if (ours?.resourceType === 'CodeSystem' || ours?.resourceType === 'ValueSet') return ours;
  return r4Terminology().get(url);
}

function computeExpansion(url: string): Expansion {
  const vs = lookup(url);
  if (vs?.resourceType !== 'ValueSet' || !vs.compose?.include) return undefined;
  const result = new Map<string, Set<string>>();
  for (const include of vs.compose.include) {
    if (!include.system || include.filter?.length || include.valueSet?.length) return undefined;
    let codes: string[];
    if (include.concept?.length) {
      codes = include.concept.map((c) => c.code ?? '');
    } else {
      const cs = lookup(include.system);
      if (cs?.resourceType !== 'CodeSystem' || cs.content !== 'complete' || !cs.concept) return undefined;
      codes = flatten(cs.concept);
    }
    const set = result.get(include.system) ?? new Set<string>();
    for (const c of codes) set.add(c);
    result.set(include.system, set);
  }
  for (const exclude of vs.compose.exclude ?? []) {
    if (!exclude.system || !exclude.concept?.length) return undefined;
    for (const c of exclude.concept) result.get(exclude.system)?.delete(c.code ?? '');
  }
  return result;
}

function flatten(concepts: CodeSystemConcept[]): string[] {
  const out: string[] = [];
  const stack = [...concepts];
  while (stack.length > 0) {
    const c = stack.pop() as CodeSystemConcept;
    if (c.code) out.push(c.code);
    if (c.concept) stack.push(...c.concept);
  }
  return out;
}
