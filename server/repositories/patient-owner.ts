import type { PatientRecord } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import type { RequestContext } from '../fhir/context.js';
import { forbidden, notFound } from '../fhir/outcome.js';
import type { PatientDirectory } from '../membership/patients.js';

export interface OwnedPatient {
  pseudonym: string;
  record: PatientRecord;
}

/**
 * What only a patient or an admin of their home hospital may do to the patient's keys and data (rotation,
 * erasure), run at that home hospital: the one that holds the patient's private key. Anyone else → 403; a
 * patient asking about somebody else learns nothing more than 403 either.
 */
export async function requirePatientOwner(ctx: RequestContext, db: Queryable, patients: PatientDirectory, patientId: string): Promise<OwnedPatient> {
  const { caller } = ctx;
  if (caller.role !== 'patient' && caller.role !== 'admin') throw forbidden('only the patient or an admin of their home hospital may do this');
  const pseudonym = await patients.pseudonymOf(patientId);
  if (caller.role === 'patient' && (!pseudonym || caller.pseudonym !== pseudonym)) throw forbidden('a patient may do this only for themself');
  if (!pseudonym) throw notFound('Patient', patientId);
  const { rows } = await db.query<{ record: PatientRecord }>('SELECT record FROM ledger_patients WHERE pseudonym = $1', [pseudonym]);
  const record = rows[0]?.record;
  if (!record) throw notFound('Patient', patientId);
  if (record.homeMsp !== ctx.mspId) throw forbidden(`this patient's home hospital is ${record.homeMsp}: ask there`);
  return { pseudonym, record };
}
