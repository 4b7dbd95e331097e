import crypto from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import type { Resource } from '../fhir/resource.js';

export interface StoredVersion {
  resource: Resource;
  version: number;
  lastUpdated: string;
  deleted: boolean;
}

/** Versioned storage of the FHIR resources the hospital database is the source of truth for. */
export class ResourceStore {
  constructor(private readonly db: Database) {}

  /** Writes a new version (version 1 when new); returns the stored resource with id and meta. */
  async put(type: string, resource: Resource, opts: { id?: string; expectVersion?: number } = {}): Promise<{ resource: Resource; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const id = opts.id ?? resource.id ?? crypto.randomUUID();
      const current = await this.currentFor(tx, type, id, true);
      if (opts.expectVersion !== undefined && current?.version !== opts.expectVersion) {
        throw new VersionConflict(type, id, current?.version, opts.expectVersion);
      }
      const version = (current?.version ?? 0) + 1;
      const lastUpdated = new Date().toISOString();
      const stored: Resource = { ...resource, resourceType: type, id, meta: { ...(resource.meta ?? {}), versionId: String(version), lastUpdated } };
      await tx.query('INSERT INTO resource_versions (resource_type, id, version, last_updated, deleted, resource) VALUES ($1, $2, $3, $4, false, $5)', [type, id, version, lastUpdated, JSON.stringify(stored)]);
      await tx.query(
        `INSERT INTO resources (resource_type, id, version, last_updated, deleted, resource) VALUES ($1, $2, $3, $4, false, $5)
         ON CONFLICT (resource_type, id) DO UPDATE SET version = $3, last_updated = $4, deleted = false, resource = $5`,
        [type, id, version, lastUpdated, JSON.stringify(stored)],
      );
      return { resource: stored, created: !current || current.deleted };
    });
  }

  async delete(type: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const current = await this.currentFor(tx, type, id, true);
      if (!current || current.deleted) return false;
      const version = current.version + 1;
      const lastUpdated = new Date().toISOString();
      await tx.query('INSERT INTO resource_versions (resource_type, id, version, last_updated, deleted, resource) VALUES ($1, $2, $3, $4, true, NULL)', [type, id, version, lastUpdated]);
      await tx.query('UPDATE resources SET version = $3, last_updated = $4, deleted = true, resource = NULL WHERE resource_type = $1 AND id = $2', [type, id, version, lastUpdated]);
      return true;
    });
  }

  async current(type: string, id: string): Promise<StoredVersion | undefined> {
    return this.currentFor(this.db, type, id, false);
  }

  async version(type: string, id: string, version: number): Promise<StoredVersion | undefined> {
    const { rows } = await this.db.query<{ resource: Resource; version: number; last_updated: Date; deleted: boolean }>(
      'SELECT resource, version, last_updated, deleted FROM resource_versions WHERE resource_type = $1 AND id = $2 AND version = $3',
      [type, id, version],
    );
    return rows[0] && toStored(rows[0]);
  }

  /** newest first */
  async history(type: string, id: string): Promise<StoredVersion[]> {
    const { rows } = await this.db.query<{ resource: Resource; version: number; last_updated: Date; deleted: boolean }>(
      'SELECT resource, version, last_updated, deleted FROM resource_versions WHERE resource_type = $1 AND id = $2 ORDER BY version DESC',
      [type, id],
    );
    return rows.map(toStored);
  }

  private async currentFor(q: Queryable, type: string, id: string, lock: boolean): Promise<StoredVersion | undefined> {
    const { rows } = await q.query<{ resource: Resource; version: number; last_updated: Date; deleted: boolean }>(
      `SELECT resource, version, last_updated, deleted FROM resources WHERE resource_type = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [type, id],
    );
    return rows[0] && toStored(rows[0]);
  }
}

export class VersionConflict extends Error {
  constructor(type: string, id: string, actual: number | undefined, expected: number) {
    super(`${type}/${id} is at version ${actual ?? 'none'}, not ${expected}`);
  }
}

function toStored(row: { resource: Resource; version: number; last_updated: Date | string; deleted: boolean }): StoredVersion {
  return { resource: row.resource, version: row.version, lastUpdated: new Date(row.last_updated).toISOString(), deleted: row.deleted };
}
