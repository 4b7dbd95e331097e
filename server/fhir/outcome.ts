/** FHIR R4 OperationOutcome issue types we emit (http://hl7.org/fhir/issue-type). */
export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'code-invalid'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'not-supported'
  | 'duplicate'
  | 'conflict'
  | 'processing'
  | 'business-rule'
  | 'exception'
  | 'timeout'
  | 'transient'
  | 'throttled'
  | 'informational';

export interface OutcomeIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: IssueType;
  diagnostics?: string;
  expression?: string[];
  details?: { text: string };
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OutcomeIssue[];
}

/** Every error the façade answers with: an HTTP status and the OperationOutcome that explains it. */
export class FhirError extends Error {
  readonly issues: OutcomeIssue[];
  constructor(
    readonly status: number,
    code: IssueType,
    diagnostics: string,
    opts: { expression?: string[]; issues?: OutcomeIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(diagnostics);
    this.issues = opts.issues ?? [{ severity: status >= 500 ? 'fatal' : 'error', code, diagnostics, ...(opts.expression ? { expression: opts.expression } : {}) }];
    this.headers = opts.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

export function outcome(issues: OutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function informational(text: string): OperationOutcome {
  return outcome([{ severity: 'information', code: 'informational', diagnostics: text }]);
}

export const badRequest = (msg: string, expression?: string[]) => new FhirError(400, 'invalid', msg, { expression });
export const notFound = (type: string, id: string) => new FhirError(404, 'not-found', `${type}/${id} is not known`);
export const unprocessable = (msg: string, expression?: string[]) => new FhirError(422, 'processing', msg, { expression });
export const unauthorized = (msg: string) => new FhirError(401, 'login', msg, { headers: { 'WWW-Authenticate': 'Bearer realm="consentry"' } });
export const forbidden = (msg: string) => new FhirError(403, 'forbidden', msg);
export const notSupported = (msg: string) => new FhirError(405, 'not-supported', msg);
export const conflict = (msg: string) => new FhirError(409, 'conflict', msg);
export const preconditionFailed = (msg: string) => new FhirError(412, 'conflict', msg);
export const unavailable = (msg: string) => new FhirError(503, 'transient', msg, { headers: { 'Retry-After': '1' } });
