export {
  consentToPermissionInput,
  permissionToConsent,
  type ConsentPermissionInput,
  type ConsentToPermissionContext,
  type PermissionToConsentContext,
} from './consent.js';
export {
  documentMetaToDocumentReference,
  documentReferenceToInput,
  type DocumentMetaToDocumentReferenceContext,
  type DocumentReferenceInput,
  type DocumentReferenceToInputContext,
} from './document-reference.js';
export { REFERENCE_TYPE_OF_GRANTEE } from './codes.js';
export { WRITE_RULES, profileRuleKeys } from './rules.js';
