import { Contract, type Context } from 'fabric-contract-api';
import { anchorAudit, getAuditAnchor } from './audit.js';
import { submitBatch } from './batch.js';
import { ConsentContext } from './context.js';
import { rotateDocumentKey } from './document-keys.js';
import { addDocument, getDocument, listDocuments, setDocumentStatus, supersedeDocument } from './documents.js';
import { invalid } from './errors.js';
import { canonicalBytes, canonicalJson } from './json.js';
import { erasePatient } from './erasure.js';
import { getOrganization, getPractitioner, registerOrganization, registerPatient, registerPractitioner, requirePatient } from './patients.js';
import {
  checkAccess,
  emergencyAccess,
  grantPermission,
  listPermissions,
  permissionHistory,
  revokePermission,
  updatePermission,
} from './permissions.js';

/**
 * The consentry contract. Every transaction takes string arguments (JSON where structured) and returns
 * deterministic JSON: fabric-shim discovers the public methods of this class without decorator metadata
 * (methods starting with "_" and the Contract hooks are not transactions) and passes arguments through
 * as strings. The domain logic lives in the modules imported above.
 */
export class ConsentContract extends Contract {
  constructor() {
    super('consentry');
  }

  override createContext(): ConsentContext {
    return new ConsentContext();
  }

  override async beforeTransaction(ctx: Context): Promise<void> {
    (ctx as ConsentContext).begin();
  }

  /** One event per transaction: the single event raised, or BatchSubmitted wrapping a batch's events. */
  override async afterTransaction(ctx: Context): Promise<void> {
    const c = ctx as ConsentContext;
    if (c.batch) {
      c.stub.setEvent('BatchSubmitted', canonicalBytes({ events: c.events }));
      return;
    }
    if (c.events.length > 1) throw new Error('internal error: a transaction raised more than one event');
    const [event] = c.events;
    if (event) c.stub.setEvent(event.name, canonicalBytes(event.payload));
  }

  override async unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    throw invalid(`the consentry contract has no function "${fcn}"`);
  }

  // ---- submit ----

  async RegisterPatient(ctx: ConsentContext, recordJson: string): Promise<string> {
    return canonicalJson(await registerPatient(ctx, recordJson));
  }

  async RegisterPractitioner(ctx: ConsentContext, recordJson: string): Promise<string> {
    return canonicalJson(await registerPractitioner(ctx, recordJson));
  }

  async RegisterOrganization(ctx: ConsentContext, recordJson: string): Promise<string> {
    return canonicalJson(await registerOrganization(ctx, recordJson));
  }

  async GrantPermission(ctx: ConsentContext, permissionJson: string): Promise<string> {
    return canonicalJson(await grantPermission(ctx, permissionJson));
  }

  async UpdatePermission(ctx: ConsentContext, permissionJson: string): Promise<string> {
    return canonicalJson(await updatePermission(ctx, permissionJson));
  }

  async RevokePermission(ctx: ConsentContext, patient: string, permissionId: string): Promise<string> {
    return canonicalJson(await revokePermission(ctx, patient, permissionId));
  }

  async AddDocument(ctx: ConsentContext, documentJson: string): Promise<string> {
    return canonicalJson(await addDocument(ctx, documentJson));
  }

  async SupersedeDocument(ctx: ConsentContext, patient: string, documentId: string, newDocumentJson: string): Promise<string> {
    return canonicalJson(await supersedeDocument(ctx, patient, documentId, newDocumentJson));
  }

  async SetDocumentStatus(ctx: ConsentContext, patient: string, documentId: string, status: string): Promise<string> {
    return canonicalJson(await setDocumentStatus(ctx, patient, documentId, status));
  }

  async RotateDocumentKey(ctx: ConsentContext, patient: string, documentId: string, rotationJson: string): Promise<string> {
    return canonicalJson(await rotateDocumentKey(ctx, patient, documentId, rotationJson));
  }

  async EmergencyAccess(ctx: ConsentContext, patient: string, reason: string): Promise<string> {
    return canonicalJson(await emergencyAccess(ctx, patient, reason));
  }

  async ErasePatient(ctx: ConsentContext, patient: string): Promise<string> {
    return canonicalJson(await erasePatient(ctx, patient));
  }

  async AnchorAudit(ctx: ConsentContext, anchorJson: string): Promise<string> {
    return canonicalJson(await anchorAudit(ctx, anchorJson));
  }

  async SubmitBatch(ctx: ConsentContext, opsJson: string): Promise<string> {
    return canonicalJson(await submitBatch(ctx, opsJson));
  }

  // ---- evaluate ----

  async CheckAccess(ctx: ConsentContext, patient: string, granteeJson: string, right: string, category: string, at: string): Promise<string> {
    return canonicalJson(await checkAccess(ctx, patient, granteeJson, right, category, at));
  }

  async GetPatient(ctx: ConsentContext, pseudonym: string): Promise<string> {
    return canonicalJson(await requirePatient(ctx, pseudonym));
  }

  async GetPractitioner(ctx: ConsentContext, practitionerId: string): Promise<string> {
    return canonicalJson(await getPractitioner(ctx, practitionerId));
  }

  async GetOrganization(ctx: ConsentContext, msp: string): Promise<string> {
    return canonicalJson(await getOrganization(ctx, msp));
  }

  async ListPermissions(ctx: ConsentContext, patient: string): Promise<string> {
    return canonicalJson(await listPermissions(ctx, patient));
  }

  async GetPermissionHistory(ctx: ConsentContext, patient: string, permissionId: string): Promise<string> {
    return canonicalJson(await permissionHistory(ctx, patient, permissionId));
  }

  async ListDocuments(ctx: ConsentContext, patient: string): Promise<string> {
    return canonicalJson(await listDocuments(ctx, patient));
  }

  async GetDocument(ctx: ConsentContext, patient: string, documentId: string): Promise<string> {
    return canonicalJson(await getDocument(ctx, patient, documentId));
  }

  async GetAuditAnchor(ctx: ConsentContext, msp: string, sequence: string): Promise<string> {
    return canonicalJson(await getAuditAnchor(ctx, msp, sequence));
  }
}
