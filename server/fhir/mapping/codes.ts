// Code systems and code tables of the Consent and DocumentReference mappings (DESIGN §4).
import type { GranteeKind, Purpose, Right } from '../../../chaincode/src/records.js';

export const SYSTEM = {
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentAction: 'http://terminology.hl7.org/CodeSystem/consentaction',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  loinc: 'http://loinc.org',
} as const;

/** LOINC 59284-0, "Consent Document": the category of every Consentry consent. */
export const CONSENT_CATEGORY_LOINC = '59284-0';

export const ACTION_OF_RIGHT: Record<Right, string> = { read: 'access', write: 'correct', share: 'disclose' };
export const RIGHT_OF_ACTION: Record<string, Right> = { access: 'read', correct: 'write', disclose: 'share' };

export const PURPOSE_DISPLAY: Record<Purpose, string> = {
  TREAT: 'treatment',
  HRESCH: 'healthcare research',
  ETREAT: 'emergency treatment',
  BTG: 'break the glass',
};

/** The FHIR resource type that stands for each kind of ledger grantee. */
export const REFERENCE_TYPE_OF_GRANTEE: Record<GranteeKind, string> = {
  practitioner: 'Practitioner',
  organization: 'Organization',
  client: 'Device',
  study: 'Group',
};

/** Largest Attachment.size R4 can carry (unsignedInt). */
export const MAX_UNSIGNED_INT = 2_147_483_647;
