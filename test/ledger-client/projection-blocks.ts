// Synthetic committed transactions with the event payloads the chaincode emits (chaincode/README.md "Events"),
// for applying blocks to the projection without a peer.
import type { AuditAnchor, DocumentMeta, Permission } from '../../chaincode/src/records.js';
import type { BlockTransaction } from '../../server/ledger/blocks.js';

export interface Event {
  name: string;
  payload: Record<string, unknown>;
}

const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const T0 = Date.parse('2026-03-01T08:00:00.000Z');

let txSerial = 0;
/** One committed transaction at position `index` of its block: a SubmitBatch of `events`, or the single event itself. */
export function tx(index: number, events: Event[], opts: { batch?: boolean; msp?: string } = {}): BlockTransaction {
  const n = txSerial++;
  const single = opts.batch === false && events.length === 1;
  const event = single ? events[0] : { name: 'BatchSubmitted', payload: { events } };
  return {
    index,
    txId: `tx-${n.toString(16).padStart(8, '0')}`,
    validationCode: 0,
    creatorMsp: opts.msp ?? 'HospitalAMSP',
    time: new Date(T0 + n * 1_337),
    event: { chaincodeId: 'consentry', name: event.name, payload: Buffer.from(JSON.stringify(event.payload)) },
  };
}

export const patientRegistered = (pseudonym: string, status: 'active' | 'erased' = 'active'): Event => ({
  name: 'PatientRegistered',
  payload: { patient: { pseudonym, homeMsp: 'HospitalAMSP', encryptionKey: KEY, status, createdAt: new Date(T0).toISOString() } },
});

export function permission(patient: string, id: string, over: Partial<Permission> = {}): Permission {
  return {
    id,
    patient,
    grantee: { kind: 'practitioner', id: 'HospitalBMSP/Practitioner/lee' },
    rights: ['read'],
    categories: ['lab-results', 'radiation-dose'],
    from: new Date(T0 - 86_400_000).toISOString(),
    to: new Date(T0 + 90 * 86_400_000).toISOString(),
    purpose: 'TREAT',
    grantedBy: patient,
    timestamp: new Date(T0).toISOString(),
    status: 'active',
    version: 1,
    ...over,
  };
}

export function document(patient: string, id: string, over: Partial<DocumentMeta> = {}): DocumentMeta {
  return {
    id,
    patient,
    category: 'lab-results',
    type: '11502-2',
    author: 'HospitalAMSP/Practitioner/ryu',
    authorMsp: 'HospitalAMSP',
    blob: `blobs/${patient}/${id}`,
    ciphertextSha256: 'ab'.repeat(32),
    size: 48_213,
    contentType: 'application/pdf',
    createdAt: new Date(T0).toISOString(),
    status: 'current',
    ...over,
  };
}

export const anchor = (msp: string, sequence: number, merkleRoot: string): AuditAnchor => ({
  msp,
  sequence,
  merkleRoot,
  count: 3,
  fromTime: new Date(T0).toISOString(),
  toTime: new Date(T0 + 2_000).toISOString(),
});

/** The read benchmark's population shape: `txs` SubmitBatch transactions of `ops` GrantPermission events each. */
export function grantBlock(txs: number, ops: number, seed = 0): BlockTransaction[] {
  return Array.from({ length: txs }, (_, t) => {
    const patient = `pop-${seed}-${t}`;
    return tx(
      t,
      Array.from({ length: ops }, (_, i) => ({
        name: 'PermissionGranted',
        payload: { permission: permission(patient, `pop-${i}`, { rights: i % 4 === 0 ? ['read', 'write'] : ['read'], categories: i % 5 === 0 ? ['*'] : ['imaging', 'treatment-plan'] }) },
      })),
    );
  });
}
