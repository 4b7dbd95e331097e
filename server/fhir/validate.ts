import type { RequestContext } from './context.js';
import type { OutcomeIssue, IssueType } from './outcome.js';
import type { Resource } from './resource.js';
import { validateResource, type ValidationIssue } from './validation/index.js';
import { PROFILE_OF_TYPE } from './profiles.js';

/** `$validate`: R4 base definitions plus our profile for the types we constrain. */
export function validateForInteraction(type: string, resource: Resource, _ctx: RequestContext): OutcomeIssue[] {
  if (resource.resourceType !== type) {
    return [{ severity: 'error', code: 'invalid', diagnostics: `expected a ${type}, got ${String(resource.resourceType)}`, expression: ['resourceType'] }];
  }
  return validateResource(resource, { profile: PROFILE_OF_TYPE[type] }).map(toOutcomeIssue);
}

export function toOutcomeIssue(issue: ValidationIssue): OutcomeIssue {
  return {
    severity: issue.severity,
    code: issue.code as IssueType,
    diagnostics: issue.rule && !issue.diagnostics.startsWith(issue.rule) ? `${issue.rule}: ${issue.diagnostics}` : issue.diagnostics,
    ...(issue.expression ? { expression: [issue.expression] } : {}),
  };
}
