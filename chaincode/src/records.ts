// The ledger records of DESIGN §3, as stored (deterministic JSON) and as returned by evaluates.

export type Jwk = Record<string, unknown> & { kty: string };

export type Role = 'patient' | 'practitioner' | 'admin';

export interface PatientRecord {
  pseudonym: string;
  homeMsp: string;
  encryptionKey: Jwk;
  status: 'active' | 'erased';
  createdAt: string;
}

export interface PractitionerRecord {
  /** `${msp}/Practitioner/<fhir id>` */
  id: string;
  msp: string;
  npi: string;
  encryptionKey: Jwk;
  verifiedAt: string;
}

/**
 * A hospital's own encryption key, for permissions granted to the organization: data keys are wrapped for
 * it, and only that hospital holds the private key. Its signing key, when registered, vouches for what it shares.
 */
export interface OrganizationRecord {
  msp: string;
  encryptionKey: Jwk;
  /** P-256 public key (ES256) that verifies what the hospital signs for other hospitals: the demographics it shares */
  signingKey?: Jwk;
  registeredAt: string;
}

export const GRANTEE_KINDS = ['practitioner', 'organization', 'client', 'study'] as const;
export type GranteeKind = (typeof GRANTEE_KINDS)[number];

export interface Grantee {
  kind: GranteeKind;
  id: string;
}

/** Canonical order; rights are stored deduplicated in this order. */
export const RIGHTS = ['read', 'write', 'share'] as const;
export type Right = (typeof RIGHTS)[number];

/** v3 ActReason codes; BTG is only ever written by EmergencyAccess. */
export const PURPOSES = ['TREAT', 'HRESCH', 'ETREAT', 'BTG'] as const;
export type Purpose = (typeof PURPOSES)[number];

export interface Permission {
  id: string;
  patient: string;
  grantee: Grantee;
  rights: Right[];
  categories: string[];
  from: string;
  to: string;
  studyId?: string;
  anonymize?: boolean;
  purpose: Purpose;
  emergency?: boolean;
  /** break-glass justification, present only when emergency */
  reason?: string;
  /** who granted it: the patient, or the practitioner for break-glass */
  grantedBy: string;
  /** tx time of this version */
  timestamp: string;
  status: 'active' | 'revoked';
  /** 1 for the grant, +1 for every later write of the same key */
  version: number;
}

export const DOCUMENT_STATUSES = ['current', 'superseded', 'entered-in-error', 'erased'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export interface DocumentMeta {
  id: string;
  patient: string;
  category: string;
  /** LOINC code */
  type: string;
  /** ledger id of the author: a patient's pseudonym or `${msp}/Practitioner/<id>` */
  author: string;
  authorMsp: string;
  blob: string;
  ciphertextSha256: string;
  size: number;
  contentType: string;
  createdAt: string;
  status: DocumentStatus;
  supersedes?: string;
}

export interface AuditAnchor {
  msp: string;
  sequence: number;
  merkleRoot: string;
  count: number;
  fromTime: string;
  toTime: string;
}

export interface AccessDecision {
  allowed: boolean;
  reason: string;
  permission?: Permission;
}

export interface HistoryEntry<T> {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: T | null;
}

/** One chaincode event; SubmitBatch wraps the events of its operations in `BatchSubmitted`. */
export interface LedgerEvent {
  name: string;
  payload: Record<string, unknown>;
}
