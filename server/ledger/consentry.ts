import type { AccessDecision, AuditAnchor, DocumentMeta, Grantee, HistoryEntry, OrganizationRecord, PatientRecord, Permission, PractitionerRecord, Right } from '../../chaincode/src/records.js';
import type { LedgerUser } from './identity.js';
import type { LedgerTransactions, SubmitResult } from './transactions.js';

export type PermissionInput = Omit<Permission, 'grantedBy' | 'timestamp' | 'status' | 'version' | 'emergency' | 'reason'>;
export type DocumentInput = Pick<DocumentMeta, 'id' | 'patient' | 'category' | 'type' | 'blob' | 'ciphertextSha256' | 'size' | 'contentType'> & { supersedes?: string };
export interface BatchOperation {
  fn: string;
  args: string[];
}

export interface Committed<T> extends SubmitResult {
  value: T;
}

/** The consentry chaincode's functions, typed; every call signs as the acting user. */
export class ConsentryLedger {
  constructor(private readonly tx: LedgerTransactions) {}

  registerPatient(as: LedgerUser, record: Pick<PatientRecord, 'pseudonym' | 'encryptionKey'>) {
    return this.submit<PatientRecord>(as, 'RegisterPatient', [JSON.stringify(record)]);
  }
  registerPractitioner(as: LedgerUser, record: Pick<PractitionerRecord, 'id' | 'npi' | 'encryptionKey'>) {
    return this.submit<PractitionerRecord>(as, 'RegisterPractitioner', [JSON.stringify(record)]);
  }
  registerOrganization(as: LedgerUser, record: Pick<OrganizationRecord, 'msp' | 'encryptionKey' | 'signingKey'>) {
    return this.submit<OrganizationRecord>(as, 'RegisterOrganization', [JSON.stringify(record)]);
  }
  grantPermission(as: LedgerUser, permission: PermissionInput) {
    return this.submit<Permission>(as, 'GrantPermission', [JSON.stringify(permission)]);
  }
  updatePermission(as: LedgerUser, permission: PermissionInput) {
    return this.submit<Permission>(as, 'UpdatePermission', [JSON.stringify(permission)]);
  }
  revokePermission(as: LedgerUser, patient: string, permissionId: string) {
    return this.submit<Permission>(as, 'RevokePermission', [patient, permissionId]);
  }
  addDocument(as: LedgerUser, document: DocumentInput) {
    return this.submit<DocumentMeta>(as, 'AddDocument', [JSON.stringify(document)]);
  }
  supersedeDocument(as: LedgerUser, patient: string, documentId: string, replacement: DocumentInput) {
    return this.submit<DocumentMeta>(as, 'SupersedeDocument', [patient, documentId, JSON.stringify(replacement)]);
  }
  setDocumentStatus(as: LedgerUser, patient: string, documentId: string, status: 'entered-in-error') {
    return this.submit<DocumentMeta>(as, 'SetDocumentStatus', [patient, documentId, status]);
  }
  emergencyAccess(as: LedgerUser, patient: string, reason: string) {
    return this.submit<Permission>(as, 'EmergencyAccess', [patient, reason]);
  }
  erasePatient(as: LedgerUser, patient: string) {
    return this.submit<PatientRecord>(as, 'ErasePatient', [patient]);
  }
  anchorAudit(as: LedgerUser, anchor: Omit<AuditAnchor, 'msp'>) {
    return this.submit<AuditAnchor>(as, 'AnchorAudit', [JSON.stringify(anchor)]);
  }
  submitBatch(as: LedgerUser, operations: BatchOperation[]) {
    return this.submit<unknown[]>(as, 'SubmitBatch', [JSON.stringify(operations)]);
  }

  checkAccess(as: LedgerUser, patient: string, grantee: Grantee, right: Right, category: string, at?: Date) {
    return this.evaluate<AccessDecision>(as, 'CheckAccess', [patient, JSON.stringify(grantee), right, category, at ? at.toISOString() : '']);
  }
  getPatient(as: LedgerUser, pseudonym: string) {
    return this.evaluate<PatientRecord>(as, 'GetPatient', [pseudonym]);
  }
  getOrganization(as: LedgerUser, msp: string) {
    return this.evaluate<OrganizationRecord>(as, 'GetOrganization', [msp]);
  }
  listPermissions(as: LedgerUser, patient: string) {
    return this.evaluate<Permission[]>(as, 'ListPermissions', [patient]);
  }
  getPermissionHistory(as: LedgerUser, patient: string, permissionId: string) {
    return this.evaluate<HistoryEntry<Permission>[]>(as, 'GetPermissionHistory', [patient, permissionId]);
  }
  listDocuments(as: LedgerUser, patient: string) {
    return this.evaluate<DocumentMeta[]>(as, 'ListDocuments', [patient]);
  }
  getDocument(as: LedgerUser, patient: string, documentId: string) {
    return this.evaluate<DocumentMeta>(as, 'GetDocument', [patient, documentId]);
  }

  private async submit<T>(as: LedgerUser, fn: string, args: string[]): Promise<Committed<T>> {
    const result = await this.tx.submit(as, fn, args);
    return { ...result, value: parseJson<T>(result.result) };
  }

  private async evaluate<T>(as: LedgerUser, fn: string, args: string[]): Promise<T> {
    return parseJson<T>(await this.tx.evaluate(as, fn, args));
  }
}

function parseJson<T>(bytes: Uint8Array): T {
  const text = Buffer.from(bytes).toString('utf8');
  return (text ? JSON.parse(text) : undefined) as T;
}
