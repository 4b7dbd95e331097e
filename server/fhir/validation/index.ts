export { FhirInputError, FhirRuleError, type InputIssueCode } from './errors.js';
export { parseFhirJson, DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_JSON_DEPTH, type ParseFhirJsonOptions } from './json.js';
export { parseReference, type ParsedReference, type ParseReferenceOptions } from './reference.js';
export { validateResource, type ValidateOptions } from './validate.js';
export { loadFhirDefinitions } from './definitions.js';
export {
  hasErrors,
  inputErrorToIssue,
  ruleErrorToIssue,
  toOperationOutcome,
  type IssueSeverity,
  type ValidationIssue,
} from './issues.js';
