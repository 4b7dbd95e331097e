// Errors the FHIR layer raises for bad client input. The router turns them into OperationOutcomes:
// FhirInputError → 400 (unparseable or structurally broken input), FhirRuleError → 422 (a named rule).

/** OperationOutcome.issue.code values used for input errors. */
export type InputIssueCode = 'structure' | 'invalid' | 'too-long' | 'security' | 'value' | 'not-found';

export class FhirInputError extends Error {
  override readonly name = 'FhirInputError';
  constructor(
    message: string,
    readonly code: InputIssueCode = 'invalid',
    /** FHIRPath location of the problem, when there is one */
    readonly expression?: string,
  ) {
    super(message);
  }
}

export class FhirRuleError extends Error {
  override readonly name = 'FhirRuleError';
  /**
   * @param rule the rule id: an R4 invariant (ppc-1) or one of our profiles' rules (ccs-7, cdr-3, ccs-w1, ...)
   * @param detail what is wrong, in words a client developer understands
   * @param expression FHIRPath location of the offending element, e.g. "Consent.provision.actor"
   * @param constraint the rule's own FHIRPath invariant, when it has one
   */
  constructor(
    readonly rule: string,
    readonly detail: string,
    readonly expression: string,
    readonly constraint?: string,
  ) {
    super(`${rule}: ${detail}`);
  }
}
