// An audit record → an R4 AuditEvent, shaped after IHE Basic Audit Log Patterns (BALP): type `rest`,
// subtype the RESTful interaction plus the ledger event (or kind of read), the acting user as the requesting
// agent, the resource acted on and the patient as entities.
import { CONSENTRY_FHIR_BASE, EXTENSION } from '../../profiles/index.js';
import type { Resource } from '../fhir/resource.js';
import type { AuditRow } from './audit-event-sql.js';

export const LEDGER_EVENT_SYSTEM = `${CONSENTRY_FHIR_BASE}/CodeSystem/ledger-event`;
export const READ_KIND_SYSTEM = `${CONSENTRY_FHIR_BASE}/CodeSystem/read-kind`;
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

const INTERACTION_OF_EVENT: Record<string, string> = {
  PatientRegistered: 'create',
  PractitionerRegistered: 'create',
  PermissionGranted: 'create',
  PermissionUpdated: 'update',
  PermissionRevoked: 'delete',
  EmergencyAccess: 'create',
  DocumentAdded: 'create',
  DocumentSuperseded: 'create',
  DocumentStatusChanged: 'update',
  DocumentKeyRotated: 'update',
  PatientErased: 'delete',
};
const INTERACTION_OF_READ: Record<string, string> = { read: 'read', vread: 'vread', search: 'search-type', download: 'read' };

const PSEUDONYM = /^[0-9a-f]{64}$/;

/** How ledger identities appear as FHIR references at this hospital. */
export interface AuditReferences {
  /** local Patient id of a pseudonym (the pseudonym itself for patients of other hospitals) */
  patientId(pseudonym: string): string;
  /** reference for `${msp}/Practitioner/<id>` */
  practitioner(ledgerId: string): string;
}

export function auditRowToAuditEvent(row: AuditRow, refs: AuditReferences): Resource {
  const at = new Date(row.at).toISOString();
  const ledger = row.src === 'ledger';
  const interaction = ledger ? INTERACTION_OF_EVENT[row.subtype] : INTERACTION_OF_READ[row.subtype];
  const entities: Record<string, unknown>[] = [];
  const what = entityReference(row.entity_type, row.entity_id, refs);
  if (what && row.entity_type !== 'Patient') {
    entities.push({ what, type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '4', 'Domain Resource') });
  }
  for (const id of row.entity_ids ?? []) {
    const served = entityReference(row.entity_type, id, refs);
    if (served) entities.push({ what: served, type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '4', 'Domain Resource') });
  }
  const superseded = (row.payload?.superseded as { id?: string } | undefined)?.id;
  if (superseded) entities.push({ what: { reference: `DocumentReference/${superseded}` }, type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '4', 'Domain Resource'), description: 'superseded document' });
  if (row.patient) {
    entities.push({ what: { reference: `Patient/${refs.patientId(row.patient)}` }, type: coding(ENTITY_TYPE, '1', 'Person'), role: coding(OBJECT_ROLE, '1', 'Patient') });
  }
  return {
    resourceType: 'AuditEvent',
    id: row.id,
    meta: { versionId: '1', lastUpdated: at, ...(ledger ? { source: `urn:consentry:tx:${row.tx_id}` } : {}) },
    ...(ledger
      ? {
          extension: [
            { url: EXTENSION.ledgerTxId, valueString: row.tx_id },
            { url: EXTENSION.ledgerBlockNumber, valueUnsignedInt: Number(row.block_number) },
          ],
        }
      : {}),
    type: coding(AUDIT_EVENT_TYPE, 'rest', 'RESTful Operation'),
    subtype: [
      ...(interaction ? [coding(RESTFUL_INTERACTION, interaction)] : []),
      coding(ledger ? LEDGER_EVENT_SYSTEM : READ_KIND_SYSTEM, row.subtype),
    ],
    action: row.action,
    recorded: at,
    outcome: '0',
    ...(row.purpose ? { purposeOfEvent: [{ coding: [coding(ACT_REASON, row.purpose)] }] } : {}),
    agent: [
      {
        type: { coding: [ledger ? coding(PARTICIPATION, 'AUT', 'author (originator)') : coding(PARTICIPATION, 'IRCP', 'information recipient')] },
        ...(row.agent ? { who: agentReference(row.agent, refs) } : {}),
        requestor: true,
      },
    ],
    source: ledger
      ? { site: row.msp, observer: { display: `Consentry ledger (Hyperledger Fabric), transaction by ${row.msp}` }, type: [coding(SOURCE_TYPE, '4', 'Application Server')] }
      : { site: row.msp, observer: { display: `Consentry FHIR server of ${row.msp}` }, type: [coding(SOURCE_TYPE, '4', 'Application Server')] },
    ...(entities.length ? { entity: entities } : {}),
  };
}

function coding(system: string, code: string, display?: string) {
  return { system, code, ...(display ? { display } : {}) };
}

function agentReference(ledgerId: string, refs: AuditReferences): { reference: string } {
  if (PSEUDONYM.test(ledgerId)) return { reference: `Patient/${refs.patientId(ledgerId)}` };
  if (ledgerId.includes('/Practitioner/')) return { reference: refs.practitioner(ledgerId) };
  // a backend service (system token) reads as `client/<client id>`; its FHIR face is a Device
  if (ledgerId.startsWith('client/')) return { reference: `Device/${ledgerId.slice('client/'.length)}` };
  return { reference: `Organization/${ledgerId}` };
}

function entityReference(type: string | null, id: string | null, refs: AuditReferences): { reference: string } | undefined {
  if (!type || !id) return undefined;
  if (type === 'Practitioner') return { reference: refs.practitioner(id) };
  if (type === 'Patient') return { reference: `Patient/${refs.patientId(id)}` };
  return { reference: `${type}/${id}` };
}
