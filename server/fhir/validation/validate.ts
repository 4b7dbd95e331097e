// Resource validation: R4 structure, types, cardinality, formats and invariants through @medplum/core's
// validator; required bindings and real calendar dates (supplementary.ts); and our profiles when
// meta.profile or the caller names them.
// With one of our profiles the validator works from the profile's snapshot, so our invariants (ccs-*,
// cdr-*) are evaluated as the FHIRPath written in the StructureDefinition.
import {
  getDataType,
  isResourceType,
  OperationOutcomeError,
  parseStructureDefinition,
  validateResource as medplumValidate,
  type InternalTypeSchema,
} from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { structureDefinition } from '../../../profiles/index.js';
import { checkSupplementary } from './supplementary.js';
import { loadFhirDefinitions } from './definitions.js';
import type { IssueSeverity, ValidationIssue } from './issues.js';

export interface ValidateOptions {
  /** canonical URL of a profile to validate against, in addition to those in meta.profile */
  profile?: string;
}

const profileSchemas = new Map<string, InternalTypeSchema>();
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function validateResource(resource: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return [issue('error', 'structure', '', 'a FHIR resource must be a JSON object')];
  }
  const record = resource as Record<string, unknown>;
  const rt = record.resourceType;
  if (typeof rt !== 'string') return [issue('error', 'required', 'resourceType', 'resourceType is missing')];
  loadFhirDefinitions();
  if (!isResourceType(rt)) return [issue('error', 'structure', 'resourceType', `unknown resourceType "${rt}"`)];

  const issues: ValidationIssue[] = [];
  // The validator types Resource.id as a plain string; R4 limits it to 64 characters of [A-Za-z0-9-.].
  if (record.id !== undefined && (typeof record.id !== 'string' || !RESOURCE_ID.test(record.id))) {
    issues.push(issue('error', 'value', `${rt}.id`, `${JSON.stringify(record.id)} is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`));
  }
  const profiles: StructureDefinition[] = [];
  for (const [url, requested] of profileUrls(record, options)) {
    const sd = structureDefinition(url);
    if (!sd || sd.kind !== 'resource') {
      // An unknown meta.profile is only a claim we cannot check; an unknown requested profile is an error.
      issues.push(
        requested
          ? issue('error', 'not-supported', '', `profile ${url} is not known to this server`)
          : issue('warning', 'not-supported', `${rt}.meta.profile`, `profile ${url} is not known here; validated against R4 only`),
      );
    } else if (sd.type !== rt) {
      issues.push(issue('error', 'invalid', 'resourceType', `profile ${url} constrains ${sd.type}, not ${rt}`));
    } else {
      profiles.push(sd);
    }
  }

  if (profiles.length === 0) {
    issues.push(...runValidator(record, undefined));
    issues.push(...checkSupplementary(record, getDataType(rt)));
  }
  for (const sd of profiles) {
    issues.push(...runValidator(record, sd));
    issues.push(...checkSupplementary(record, profileSchema(sd)));
  }
  return dedupe(issues);
}

function profileUrls(resource: Record<string, unknown>, options: ValidateOptions): Map<string, boolean> {
  const urls = new Map<string, boolean>();
  if (options.profile) urls.set(options.profile.split('|')[0], true);
  const meta = resource.meta as { profile?: unknown } | undefined;
  if (meta && Array.isArray(meta.profile)) {
    for (const p of meta.profile) if (typeof p === 'string' && !urls.has(p.split('|')[0])) urls.set(p.split('|')[0], false);
  }
  return urls;
}

function profileSchema(sd: StructureDefinition): InternalTypeSchema {
  const url = sd.url as string;
  let schema = profileSchemas.get(url);
  if (!schema) {
    schema = parseStructureDefinition(sd);
    profileSchemas.set(url, schema);
  }
  return schema;
}

function runValidator(resource: Record<string, unknown>, profile: StructureDefinition | undefined): ValidationIssue[] {
  let found: OperationOutcomeIssue[];
  try {
    found = medplumValidate(resource as unknown as Resource, profile ? { profile } : undefined);
  } catch (e) {
    if (!(e instanceof OperationOutcomeError)) {
      return [issue('error', 'processing', '', `the validator could not process the resource: ${(e as Error).message}`)];
    }
    found = e.outcome.issue ?? [];
  }
  return found.map(fromMedplum);
}

const CONSTRAINT = /^Constraint (\S+) not met/;

function fromMedplum(i: OperationOutcomeIssue): ValidationIssue {
  const diagnostics = i.details?.text ?? i.diagnostics ?? 'invalid';
  const rule = CONSTRAINT.exec(diagnostics)?.[1];
  return {
    severity: (i.severity ?? 'error') as IssueSeverity,
    code: i.code ?? 'invalid',
    expression: i.expression?.[0] ?? '',
    diagnostics,
    ...(rule ? { rule } : {}),
  };
}

function issue(severity: IssueSeverity, code: string, expression: string, diagnostics: string): ValidationIssue {
  return { severity, code, expression, diagnostics };
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}\u0000${i.code}\u0000${i.expression}\u0000${i.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
