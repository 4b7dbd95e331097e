// Tolerant readers for untrusted JSON: the mappers never throw a TypeError on odd shapes; they see
// "absent" instead and report the rule that the absence breaks.
export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The items of a FHIR repeating element: [] when absent, the value itself when not an array. */
export function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function objects(value: unknown): Json[] {
  return list(value).map(asObject).filter((o): o is Json => o !== undefined);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export interface Code {
  system: string | undefined;
  code: string | undefined;
}

/** The codings of one CodeableConcept. */
export function codings(concept: unknown): Code[] {
  return objects(asObject(concept)?.coding).map((c) => ({ system: str(c.system), code: str(c.code) }));
}

export function hasCoding(concept: unknown, system: string, code: string): boolean {
  return codings(concept).some((c) => c.system === system && c.code === code);
}

/** The extensions of an element with this URL. */
export function extensions(element: Json | undefined, url: string): Json[] {
  return objects(element?.extension).filter((e) => e.url === url);
}

export function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}
