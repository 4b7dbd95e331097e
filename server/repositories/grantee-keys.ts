import type { JWK } from 'jose';
import { coversCategory } from '../../chaincode/src/categories.js';
import type { DocumentMeta, Grantee, Permission } from '../../chaincode/src/records.js';
import type { Queryable } from '../db/database.js';
import { IntegrityError, NoKeyError, type DocumentStore } from '../documents/index.js';
import type { Caller } from '../fhir/context.js';
import { KeyHolders } from './key-holders.js';
import type { SharedDemographics } from './shared-demographics.js';

export interface GranteeSync {
  added: number;
  removed: number;
  /** when the earliest permission this grantee's keys rest on ends (the next sync is due then) */
  nextDue?: Date;
}

type DocumentKeyMeta = Pick<DocumentMeta, 'id' | 'patient' | 'category' | 'author' | 'blob'>;

const MAX_RETRY_SECONDS = 3600;
const PARALLEL_DOCUMENTS = 8;

/**
 * Keeps the wrapped data keys of a patient's documents in line with the ledger, for one grantee at a time
 * (DESIGN §6): a grant wraps every existing document of the granted categories for the grantee's public key
 * (from the ledger); a narrowed, revoked or ended permission deletes the grantee's wrapped keys again. The
 * patient's home hospital does this (it holds the patient's private key, so it can open every data key and
 * rewrap it); the wrapped keys go to the shared blob store, where the grantee's hospital finds them.
 *
 * Every sync is idempotent and recorded first in grantee_key_tasks, so a crash or a blob store outage is
 * retried, and the task is kept for the instant the grantee's last covering permission ends.
 */
export class GranteeKeys {
  private readonly running = new Map<string, Promise<GranteeSync>>();

  constructor(
    private readonly deps: {
      db: Queryable;
      documents: DocumentStore;
      keys: KeyHolders;
      demographics: SharedDemographics;
      log: (msg: string) => void;
    },
  ) {}

  /**
   * After a permission write has committed and this hospital's replica holds it: syncs each grantee now.
   * Never throws; what fails stays due and is retried by runDue.
   */
  async afterPermissionWrite(patient: string, grantees: Grantee[]): Promise<void> {
    const seen = new Set<string>();
    for (const grantee of grantees) {
      const key = `${grantee.kind}|${grantee.id}`;
      if (seen.has(key) || !KeyHolders.recipientIdOf(grantee)) continue;
      seen.add(key);
      try {
        await this.schedule(patient, grantee, new Date(0));
        await this.runOne(patient, grantee);
      } catch (err) {
        this.deps.log(`key sync for ${grantee.kind} ${grantee.id} on patient ${patient} not recorded: ${message(err)}`);
      }
    }
  }

  /** Runs the syncs that are due (retries, and grants that have ended). Returns how many it ran. */
  async runDue(limit = 20): Promise<number> {
    const { rows } = await this.deps.db.query<{ patient: string; grantee_kind: Grantee['kind']; grantee_id: string }>(
      'SELECT patient, grantee_kind, grantee_id FROM grantee_key_tasks WHERE due_at <= now() ORDER BY due_at LIMIT $1',
      [limit],
    );
    for (const row of rows) await this.runOne(row.patient, { kind: row.grantee_kind, id: row.grantee_id });
    return rows.length;
  }

  /**
   * Break-glass permissions are written by the practitioner, not through the patient's home hospital: for this
   * hospital's patients they are found in the replica's events (after a checkpoint) and their keys synced like a
   * grant's. Returns how many it found.
   */
  async followEmergencyAccess(): Promise<number> {
    const { db } = this.deps;
    const upTo = Number((await db.query<{ n: number | null }>('SELECT min(next_block) AS n FROM ledger_checkpoint')).rows[0]?.n ?? 0);
    const from = Number((await db.query<{ n: number }>(`SELECT next_block AS n FROM grantee_key_checkpoint WHERE name = 'emergency'`)).rows[0]?.n ?? 0);
    if (from >= upTo) return 0;
    const { rows } = await db.query<{ patient: string; grantee: Grantee }>(
      `SELECT DISTINCT e.patient, e.payload -> 'permission' -> 'grantee' AS grantee FROM ledger_events e JOIN patient_pseudonyms pp ON pp.pseudonym = e.patient
       WHERE e.block_number >= $1 AND e.block_number < $2 AND e.event_name = 'EmergencyAccess'`,
      [from, upTo],
    );
    for (const row of rows) await this.schedule(row.patient, row.grantee, new Date(0));
    await db.query(
      `INSERT INTO grantee_key_checkpoint (name, next_block) VALUES ('emergency', $1) ON CONFLICT (name) DO UPDATE SET next_block = GREATEST(grantee_key_checkpoint.next_block, EXCLUDED.next_block)`,
      [upTo],
    );
    return rows.length;
  }

  /**
   * A document just added: its key was wrapped before the ledger write for the readers known then; a grant or
   * revoke that committed meanwhile is applied here, from the replica after the write. Never throws.
   */
  async afterDocumentAdded(meta: DocumentKeyMeta, author: Caller, wrappedFor: readonly string[]): Promise<void> {
    const { documents, keys } = this.deps;
    try {
      const wanted = new Set([meta.patient, meta.author, ...(await keys.readersOf(meta.patient, meta.category, new Date()))]);
      const had = new Set(wrappedFor);
      const missing = [...wanted].filter((id) => !had.has(id));
      if (missing.length) {
        const holder = await keys.privateFor(documents, meta, author);
        for (const id of missing) {
          const publicJwk = await keys.publicKeyOf(id);
          if (publicJwk) await documents.addRecipient(meta.blob, holder, { id, publicJwk });
        }
      }
      for (const id of had) if (!wanted.has(id)) await documents.removeRecipient(meta.blob, id);
    } catch (err) {
      this.deps.log(`readers of document ${meta.id} not brought up to date: ${message(err)}`);
    }
  }

  /**
   * The patient changed their Patient resource at home: the demographics shared with grantees at other hospitals
   * are sealed again. Never throws; a copy left stale is replaced by the grantee's next sync.
   */
  async afterDemographicsChanged(patient: string): Promise<void> {
    const { rows } = await this.deps.db.query<{ grantee_kind: Grantee['kind']; grantee_id: string }>(
      `SELECT DISTINCT grantee_kind, grantee_id FROM ledger_permissions
       WHERE patient = $1 AND status = 'active' AND 'read' = ANY (rights) AND valid_to > now() AND grantee_kind IN ('practitioner', 'organization')`,
      [patient],
    );
    for (const row of rows) {
      const recipientId = KeyHolders.recipientIdOf({ kind: row.grantee_kind, id: row.grantee_id })!;
      try {
        await this.syncDemographics(patient, recipientId, true, async () => {
          const publicJwk = await this.deps.keys.publicKeyOf(recipientId);
          if (!publicJwk) throw new Error(`${recipientId} has no encryption key on the ledger`);
          return publicJwk;
        });
      } catch (err) {
        this.deps.log(`demographics shared with ${recipientId} not updated: ${message(err)}`);
      }
    }
  }

  /** One grantee's keys on one patient's documents, now; one at a time per grantee in this process. */
  sync(patient: string, grantee: Grantee): Promise<GranteeSync> {
    const key = `${patient}|${grantee.kind}|${grantee.id}`;
    const previous = this.running.get(key) ?? Promise.resolve(undefined);
    const current = previous.catch(() => undefined).then(() => this.syncUntilStable(patient, grantee));
    this.running.set(key, current);
    const forget = () => {
      if (this.running.get(key) === current) this.running.delete(key);
    };
    current.then(forget, forget);
    return current;
  }

  private async schedule(patient: string, grantee: Grantee, dueAt: Date): Promise<void> {
    await this.deps.db.query(
      `INSERT INTO grantee_key_tasks (patient, grantee_kind, grantee_id, due_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (patient, grantee_kind, grantee_id) DO UPDATE SET due_at = LEAST(grantee_key_tasks.due_at, EXCLUDED.due_at), requested_at = clock_timestamp()`,
      [patient, grantee.kind, grantee.id, dueAt.toISOString()],
    );
  }

  private async runOne(patient: string, grantee: Grantee): Promise<void> {
    const { db } = this.deps;
    const args = [patient, grantee.kind, grantee.id];
    const where = 'patient = $1 AND grantee_kind = $2 AND grantee_id = $3';
    const started = (await db.query<{ t: Date | string }>('SELECT clock_timestamp() AS t')).rows[0].t;
    try {
      const result = await this.sync(patient, grantee);
      // a request that arrived while this sync ran keeps its task (and is run by whoever made it, or by runDue)
      if (result.nextDue) await db.query(`UPDATE grantee_key_tasks SET due_at = $4, attempts = 0 WHERE ${where} AND requested_at <= $5`, [...args, result.nextDue.toISOString(), started]);
      else await db.query(`DELETE FROM grantee_key_tasks WHERE ${where} AND requested_at <= $4`, [...args, started]);
    } catch (err) {
      this.deps.log(`key sync for ${grantee.kind} ${grantee.id} on patient ${patient} failed, will retry: ${message(err)}`);
      await db.query(`UPDATE grantee_key_tasks SET attempts = attempts + 1, due_at = now() + make_interval(secs => least(${MAX_RETRY_SECONDS}, 30 * (attempts + 1))) WHERE ${where}`, args);
    }
  }

  /** Syncs again if the grantee's permissions changed while it ran (a revoke racing a grant). */
  private async syncUntilStable(patient: string, grantee: Grantee): Promise<GranteeSync> {
    for (let attempt = 0; ; attempt++) {
      const before = await this.fingerprint(patient, grantee);
      const result = await this.syncOnce(patient, grantee);
      if (attempt >= 3 || (await this.fingerprint(patient, grantee)) === before) return result;
    }
  }

  private async fingerprint(patient: string, grantee: Grantee): Promise<string> {
    const { rows } = await this.deps.db.query<{ f: string | null }>(
      `SELECT string_agg(id || ':' || version, ',' ORDER BY id) AS f FROM ledger_permissions WHERE patient = $1 AND grantee_kind = $2 AND grantee_id = $3`,
      [patient, grantee.kind, grantee.id],
    );
    return rows[0]?.f ?? '';
  }

  private async syncOnce(patient: string, grantee: Grantee): Promise<GranteeSync> {
    const { db, documents, keys } = this.deps;
    const recipientId = KeyHolders.recipientIdOf(grantee);
    if (!recipientId) return { added: 0, removed: 0 };
    const nowMs = Date.now();
    const { rows: permissions } = await db.query<{ record: Permission }>(
      'SELECT record FROM ledger_permissions WHERE patient = $1 AND grantee_kind = $2 AND grantee_id = $3',
      [patient, grantee.kind, grantee.id],
    );
    // a permission that starts later counts already (see KeyHolders.readersOf)
    const reading = permissions.map((r) => r.record).filter((p) => p.status === 'active' && p.rights.includes('read') && Date.parse(p.to) > nowMs);
    const { rows: docs } = await db.query<{ record: DocumentMeta }>(`SELECT record FROM ledger_documents WHERE patient = $1 AND status <> 'erased' ORDER BY id`, [patient]);
    let publicJwk: JWK | undefined;
    const publicKey = async () => {
      publicJwk ??= await keys.publicKeyOf(recipientId);
      if (!publicJwk) throw new Error(`${recipientId} has no encryption key on the ledger`);
      return publicJwk;
    };
    const result: GranteeSync = { added: 0, removed: 0 };
    const syncDocument = async (doc: DocumentMeta): Promise<void> => {
      if (doc.author === recipientId || doc.patient === recipientId) return; // they keep their own
      const wanted = reading.some((p) => coversCategory(p.categories, doc.category));
      const has = await documents.hasRecipient(doc.blob, recipientId);
      try {
        if (wanted && !has) {
          await documents.addRecipient(doc.blob, await keys.holderFor(documents, doc), { id: recipientId, publicJwk: await publicKey() });
          result.added++;
        } else if (!wanted && has) {
          await documents.removeRecipient(doc.blob, recipientId);
          result.removed++;
        }
      } catch (err) {
        // retrying cannot help a document this hospital holds no key for, or whose wrapped key is corrupt
        if (!(err instanceof NoKeyError || err instanceof IntegrityError)) throw err;
        this.deps.log(`document ${doc.id}: not wrapped for ${recipientId}: ${err.message}`);
      }
    };
    // a few documents at a time: each is a round trip or two to the blob store
    for (let i = 0; i < docs.length; i += PARALLEL_DOCUMENTS) {
      await Promise.all(docs.slice(i, i + PARALLEL_DOCUMENTS).map(({ record }) => syncDocument(record)));
    }
    await this.syncDemographics(patient, recipientId, reading.length > 0, publicKey);
    const ends = reading.map((p) => Date.parse(p.to));
    if (ends.length) result.nextDue = new Date(Math.min(...ends));
    return result;
  }

  /** Demographics go only to grantees at other hospitals (at home the Patient resource itself is visible). */
  private async syncDemographics(patient: string, recipientId: string, shared: boolean, publicKey: () => Promise<JWK>): Promise<void> {
    const msp = KeyHolders.mspOfRecipient(recipientId);
    if (!msp || msp === this.deps.keys.mspId) return;
    if (shared) await this.deps.demographics.publish(patient, { id: recipientId, publicJwk: await publicKey() });
    else await this.deps.demographics.withdraw(patient, recipientId);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
