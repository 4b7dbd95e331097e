import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Queryable } from '../db/database.js';
import { BlobNotFoundError, IntegrityError, NoKeyError, openSealed, sealFor, type BlobStore, type Recipient, type RecipientPrivate } from '../documents/index.js';

/** What of the Patient resource at home a grantee at another hospital is shown: who the patient is, and how to reach them. */
export const SHARED_PATIENT_FIELDS = ['name', 'telecom', 'gender', 'birthDate', 'address', 'communication'] as const;

const PSEUDONYM = /^[0-9a-f]{64}$/;
const MAX_BYTES = 64 * 1024;

/**
 * Demographics a patient shares with the grantees of other hospitals (issue 5, item 4): the home hospital seals
 * the shared fields of the patient's Patient resource to each such grantee's public key and puts them in the
 * shared blob store at `patients/<pseudonym>/demographics/<sha256(recipient id)>.jwe`; the grantee's hospital
 * opens them with its own user's (or organization's) private key. Nothing identifying is ever in the clear there.
 */
export class SharedDemographics {
  constructor(
    private readonly blobs: BlobStore,
    private readonly db: Queryable,
  ) {}

  static blobKey(patient: string, recipientId: string): string {
    if (!PSEUDONYM.test(patient)) throw new TypeError('demographics are kept under a patient pseudonym');
    return `patients/${patient}/demographics/${createHash('sha256').update(recipientId, 'utf8').digest('hex')}.jwe`;
  }

  /** The shared fields of the patient's Patient resource at this (their home) hospital, if it holds one. */
  async homeDemographics(patient: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this.db.query<{ resource: Record<string, unknown> }>(
      `SELECT r.resource FROM patient_pseudonyms pp JOIN resources r ON r.resource_type = 'Patient' AND r.id = pp.patient_id AND NOT r.deleted
       WHERE pp.pseudonym = $1`,
      [patient],
    );
    return rows[0] ? pick(rows[0].resource) : undefined;
  }

  /** Seals the patient's current demographics for one recipient; false when this hospital is not the patient's home. */
  async publish(patient: string, recipient: Recipient): Promise<boolean> {
    const shared = await this.homeDemographics(patient);
    if (!shared) return false;
    const jwe = await sealFor(recipient, Buffer.from(JSON.stringify(shared), 'utf8'), { sub: patient, cty: 'patient-demographics' });
    await this.blobs.put(SharedDemographics.blobKey(patient, recipient.id), Readable.from([Buffer.from(jwe, 'utf8')]));
    return true;
  }

  async withdraw(patient: string, recipientId: string): Promise<void> {
    await this.blobs.delete(SharedDemographics.blobKey(patient, recipientId));
  }

  async has(patient: string, recipientId: string): Promise<boolean> {
    return (await this.blobs.head(SharedDemographics.blobKey(patient, recipientId))) !== undefined;
  }

  /** The demographics sealed for the first of `candidates` that has any, or undefined. */
  async open(patient: string, candidates: RecipientPrivate[]): Promise<Record<string, unknown> | undefined> {
    if (!PSEUDONYM.test(patient)) return undefined;
    for (const candidate of candidates) {
      let jwe: string;
      try {
        jwe = await readSmall(await this.blobs.get(SharedDemographics.blobKey(patient, candidate.id)));
      } catch (err) {
        if (err instanceof BlobNotFoundError) continue;
        throw err;
      }
      try {
        const plaintext = await openSealed(jwe, candidate.privateKey, { sub: patient, kid: candidate.id });
        return pick(JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>);
      } catch (err) {
        // not for this key, or tampered with: shown as if nothing was shared
        if (err instanceof NoKeyError || err instanceof IntegrityError || err instanceof SyntaxError) continue;
        throw err;
      }
    }
    return undefined;
  }
}

function pick(resource: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of SHARED_PATIENT_FIELDS) if (resource[field] !== undefined) out[field] = resource[field];
  return out;
}

async function readSmall(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > MAX_BYTES) {
      stream.destroy();
      throw new Error('sealed demographics are implausibly large');
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
