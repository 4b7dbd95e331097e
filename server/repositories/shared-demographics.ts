import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CompactSign, compactVerify, errors, importJWK, type JWK } from 'jose';
import type { Queryable } from '../db/database.js';
import { BlobNotFoundError, IntegrityError, NoKeyError, openSealed, readSmall, sealFor, type BlobStore, type Recipient, type RecipientPrivate } from '../documents/index.js';

/** What of the Patient resource at home a grantee at another hospital is shown: who the patient is, and how to reach them. */
export const SHARED_PATIENT_FIELDS = ['name', 'telecom', 'gender', 'birthDate', 'address', 'communication'] as const;

const PSEUDONYM = /^[0-9a-f]{64}$/;
const MAX_BYTES = 64 * 1024;

/** The keys that sign and verify shared demographics (KeyHolders). */
export interface DemographicsSigning {
  /** this hospital's organization signing key (private JWK) */
  organizationSigningKey(): Promise<JWK | undefined>;
  /** the signing key the ledger holds for the patient's home hospital */
  homeSigningKeyOf(patient: string): Promise<JWK | undefined>;
}

const JWS_TYPE = 'consentry-demographics+jws';

/**
 * Demographics a patient shares with the grantees of other hospitals (issue 5, item 4): the home hospital signs
 * the shared fields of the patient's Patient resource, with the patient's pseudonym, under its organization signing
 * key (ES256), seals that to each such grantee's public key and puts it in the shared blob store at
 * `patients/<pseudonym>/demographics/<sha256(recipient id)>.jwe`; the grantee's hospital opens it with its own
 * user's (or organization's) private key and shows it only when the signature verifies with the key the ledger
 * holds for the patient's home hospital. Nothing identifying is ever in the clear there, and whoever can write the
 * shared store (and so seal anything to a grantee's public key) cannot put words in the home hospital's mouth.
 */
export class SharedDemographics {
  constructor(
    private readonly blobs: BlobStore,
    private readonly db: Queryable,
    private readonly signing: DemographicsSigning,
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
    const signingKey = await this.signing.organizationSigningKey();
    if (!signingKey) throw new Error('this hospital has no organization signing key yet');
    const jws = await new CompactSign(Buffer.from(JSON.stringify({ patient, demographics: shared }), 'utf8'))
      .setProtectedHeader({ alg: 'ES256', typ: JWS_TYPE })
      .sign(await importJWK(signingKey, 'ES256'));
    const jwe = await sealFor(recipient, Buffer.from(jws, 'utf8'), { sub: patient, cty: JWS_TYPE });
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
        jwe = await readSmall(await this.blobs.get(SharedDemographics.blobKey(patient, candidate.id)), MAX_BYTES, 'sealed demographics');
      } catch (err) {
        if (err instanceof BlobNotFoundError) continue;
        throw err;
      }
      try {
        const plaintext = await openSealed(jwe, candidate.privateKey, { sub: patient, kid: candidate.id });
        const vouched = await this.verified(patient, plaintext.toString('utf8'));
        if (vouched) return pick(vouched);
      } catch (err) {
        // not for this key, or tampered with: shown as if nothing was shared
        if (err instanceof NoKeyError || err instanceof IntegrityError || err instanceof SyntaxError) continue;
        throw err;
      }
    }
    return undefined;
  }

  /** The demographics in `jws` when the patient's home hospital signed them for this patient; else undefined. */
  private async verified(patient: string, jws: string): Promise<Record<string, unknown> | undefined> {
    const key = await this.signing.homeSigningKeyOf(patient);
    if (!key) return undefined;
    try {
      const { payload, protectedHeader } = await compactVerify(jws, await importJWK(key, 'ES256'), { algorithms: ['ES256'] });
      const body = JSON.parse(Buffer.from(payload).toString('utf8')) as { patient?: unknown; demographics?: unknown };
      const demographics = body.demographics;
      if (protectedHeader.typ !== JWS_TYPE || body.patient !== patient || typeof demographics !== 'object' || demographics === null || Array.isArray(demographics)) return undefined;
      return demographics as Record<string, unknown>;
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof SyntaxError) return undefined; // unsigned, signed by another key, or altered
      throw err;
    }
  }
}

function pick(resource: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of SHARED_PATIENT_FIELDS) if (resource[field] !== undefined) out[field] = resource[field];
  return out;
}

