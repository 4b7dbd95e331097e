import type { OperationOutcome } from '@medplum/fhirtypes';
import { FhirInputError, FhirRuleError } from './errors.js';

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** One finding, shaped like OperationOutcome.issue (expression is a single FHIRPath location). */
export interface ValidationIssue {
  severity: IssueSeverity;
  /** OperationOutcome issue type: structure, invariant, code-invalid, required, value, processing, ... */
  code: string;
  expression: string;
  diagnostics: string;
  /** the invariant or profile rule id (ppc-1, ccs-7, cdr-3, ...) when a named rule was violated */
  rule?: string;
}

export function hasErrors(issues: readonly ValidationIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}

export function ruleErrorToIssue(e: FhirRuleError): ValidationIssue {
  return { severity: 'error', code: 'business-rule', expression: e.expression, diagnostics: e.message, rule: e.rule };
}

export function inputErrorToIssue(e: FhirInputError): ValidationIssue {
  return { severity: 'error', code: e.code, expression: e.expression ?? '', diagnostics: e.message };
}

/** An OperationOutcome for these issues (an "all OK" information issue when there are none). */
export function toOperationOutcome(issues: readonly ValidationIssue[]): OperationOutcome {
  if (issues.length === 0) {
    return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }] };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity,
      code: i.code as NonNullable<OperationOutcome['issue']>[number]['code'],
      ...(i.rule ? { details: { coding: [{ system: 'http://consentry.example/fhir/rule', code: i.rule }], text: i.diagnostics } } : {}),
      diagnostics: i.diagnostics,
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}
