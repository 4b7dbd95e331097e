import { Readable } from 'node:stream';
import type { Database } from '../db/database.js';
import { BlobNotFoundError, IntegrityError, NoKeyError, openSealed, readSmall, sealFor, type BlobStore } from '../documents/index.js';
import type { KeyHolders } from '../repositories/key-holders.js';
import { canonicalRow, type LogRow } from './canonical-row.js';
import { leafHash, MerkleTree, verifyInclusion } from './merkle.js';

const PSEUDONYM = /^[0-9a-f]{64}$/;
const MAX_BYTES = 16 * 1024 * 1024;

/** What a reading hospital seals to a patient's key for one anchored batch: that patient's rows, each with its proof. */
interface SealedDisclosures {
  msp: string;
  sequence: number;
  size: number;
  rows: { row: LogRow; index: number; proof: string[] }[];
}

/**
 * How a patient's home hospital learns of reads served elsewhere (DESIGN §7: "the patient sees ... Dr. Lee's
 * reads"). The reading hospital logs a read in its own read-access log; when it anchors a batch of that log on the
 * ledger, it seals the rows about each patient of another hospital to that patient's public encryption key (from
 * the ledger) and puts them, with a Merkle inclusion proof per row, in the shared blob store at
 * `patients/<pseudonym>/disclosures/<msp>-<sequence>.jwe`. Only the patient's home hospital can open them; it
 * imports a row only when its proof leads to the root that the reading hospital anchored on the ledger (read from
 * the replica's AuditAnchored event), so neither the blob store nor the reading hospital can slip in or change a row
 * after anchoring. Nothing that identifies a patient or a reader is in the clear there.
 */
export class Disclosures {
  constructor(
    private readonly deps: { db: Database; blobs: BlobStore; keys: KeyHolders; mspId: string; log: (msg: string) => void },
  ) {}

  static prefix(patient: string): string {
    return `patients/${patient}/disclosures/`;
  }

  /**
   * Seals each foreign patient's rows of a batch about to be anchored. `patients`: who the batch's rows are about;
   * `rowsOf`: the batch's rows about some of them, each with its leaf index.
   */
  async publish(sequence: number, leaves: Buffer[], patients: string[], rowsOf: (patients: string[]) => Promise<{ row: LogRow; index: number }[]>): Promise<void> {
    const { db, blobs, keys, mspId } = this.deps;
    const candidates = patients.filter((p) => PSEUDONYM.test(p));
    if (candidates.length === 0) return;
    const { rows: foreign } = await db.query<{ pseudonym: string }>('SELECT pseudonym FROM ledger_patients WHERE pseudonym = ANY ($1) AND home_msp <> $2', [candidates, mspId]);
    if (foreign.length === 0) return;
    const rows = await rowsOf(foreign.map((f) => f.pseudonym));
    const tree = new MerkleTree(leaves);
    for (const { pseudonym } of foreign) {
      const publicJwk = await keys.publicKeyOf(pseudonym);
      if (!publicJwk) continue;
      const sealed: SealedDisclosures = {
        msp: mspId,
        sequence,
        size: leaves.length,
        rows: rows.filter(({ row }) => row.patient === pseudonym).map(({ row, index }) => ({ row, index, proof: tree.proof(index).map((h) => h.toString('hex')) })),
      };
      const jwe = await sealFor({ id: pseudonym, publicJwk }, Buffer.from(JSON.stringify(sealed), 'utf8'), { sub: pseudonym, cty: 'disclosures' });
      await blobs.put(`${Disclosures.prefix(pseudonym)}${mspId}-${sequence}.jwe`, Readable.from([Buffer.from(jwe, 'utf8')]));
    }
  }

  /**
   * Imports, for a patient of this hospital, the disclosures other hospitals sealed to them whose anchors this
   * replica has seen. Returns how many rows it imported. Never throws for one bad blob (it is logged and retried).
   */
  async importFor(patient: string): Promise<number> {
    const { db, blobs, keys, mspId, log } = this.deps;
    if (!PSEUDONYM.test(patient)) return 0;
    const privateKey = await keys.privateKeyOf(patient);
    if (!privateKey) return 0;
    const keysSeen: string[] = [];
    for await (const item of blobs.list(Disclosures.prefix(patient))) keysSeen.push(item.key);
    if (keysSeen.length === 0) return 0;
    const done = new Set((await db.query<{ blob_key: string }>('SELECT blob_key FROM foreign_disclosure_imports WHERE blob_key = ANY ($1)', [keysSeen])).rows.map((r) => r.blob_key));
    let imported = 0;
    for (const key of keysSeen.filter((k) => !done.has(k))) {
      try {
        const sealed = JSON.parse((await openSealed(await readSmall(await blobs.get(key), MAX_BYTES, 'sealed disclosures'), privateKey, { sub: patient, cty: 'disclosures' })).toString('utf8')) as SealedDisclosures;
        if (sealed.msp === mspId || `${Disclosures.prefix(patient)}${sealed.msp}-${sealed.sequence}.jwe` !== key) throw new IntegrityError(`disclosures at ${key} name another batch`);
        const anchor = await this.anchorOf(sealed.msp, sealed.sequence);
        if (!anchor) continue; // not yet in this replica
        const root = Buffer.from(anchor.merkleRoot, 'hex');
        for (const { row, index, proof } of sealed.rows) {
          if (row.patient !== patient || anchor.count !== sealed.size || !verifyInclusion(leafHash(canonicalRow(row)), index, sealed.size, proof.map((h) => Buffer.from(h, 'hex')), root)) {
            throw new IntegrityError(`disclosure ${sealed.msp}/${row.seq} is not in the anchored batch ${sealed.sequence}`);
          }
        }
        await db.transaction(async (tx) => {
          for (const { row } of sealed.rows) {
            await tx.query(
              `INSERT INTO foreign_disclosures (msp, seq, anchor_sequence, at, username, agent, patient, resource_type, resource_id, resource_ids, action, purpose, ledger_height)
               VALUES ($1, $2, $3, to_timestamp($4::numeric / 1000000), $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (msp, seq) DO NOTHING`,
              [sealed.msp, row.seq, sealed.sequence, row.at_us, row.username, row.agent, row.patient, row.resource_type, row.resource_id, row.resource_ids, row.action, row.purpose, row.ledger_height],
            );
          }
          await tx.query('INSERT INTO foreign_disclosure_imports (blob_key) VALUES ($1) ON CONFLICT DO NOTHING', [key]);
        });
        imported += sealed.rows.length;
      } catch (err) {
        if (err instanceof BlobNotFoundError) continue;
        if (err instanceof NoKeyError || err instanceof IntegrityError || err instanceof SyntaxError) {
          log(`disclosures ${key} refused: ${err.message}`);
          continue;
        }
        throw err;
      }
    }
    return imported;
  }

  private async anchorOf(msp: string, sequence: number): Promise<{ merkleRoot: string; count: number } | undefined> {
    const { rows } = await this.deps.db.query<{ anchor: { merkleRoot: string; count: number } }>(
      `SELECT payload -> 'anchor' AS anchor FROM ledger_events WHERE event_name = 'AuditAnchored' AND payload -> 'anchor' ->> 'msp' = $1 AND payload -> 'anchor' ->> 'sequence' = $2`,
      [msp, String(sequence)],
    );
    return rows[0]?.anchor;
  }
}

