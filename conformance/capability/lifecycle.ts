import crypto from 'node:crypto';
import { expect } from 'vitest';
import type { Resource } from '../../server/fhir/resource.js';
import { matchIds, type FhirUser } from '../support/client.js';
import type { TypeProbe, Writer } from '../support/examples.js';
import type { ResourceClaim } from './probe.js';

/**
 * Every interaction the CapabilityStatement lists for a type, done for real through fhir-kit-client on one
 * resource: create (and a conditional create that finds it), read, search by _id, update (If-Match, and a
 * stale one refused with 412 when `versioned-update` is claimed), vread, history, update-as-create as
 * `updateCreate` claims, delete. Returns the interactions it exercised.
 */
export async function exerciseLifecycle(claim: ResourceClaim, probe: TypeProbe, users: Record<Writer, FhirUser>, readOnlyReader: FhirUser, people: { patientId: string }): Promise<string[]> {
  const type = claim.type;
  const can = (code: string) => (claim.interaction ?? []).some((i) => i.code === code);
  const done: string[] = [];
  // a type's writer reads it back; read-only types are read by readOnlyReader
  const writer = probe.writer ? users[probe.writer] : readOnlyReader;
  const reader = writer;
  const example = probe.example(people);

  let current: Resource;
  if (can('create')) {
    const created = await writer.ok((c) => c.create({ resourceType: type, body: example }));
    expect(created.status, `${type} create`).toBe(201);
    current = created.resource!;
    expect(created.headers.get('location'), `${type} create Location`).toBe(`${writer.baseUrl}/${type}/${current.id}/_history/${current.meta?.versionId}`);
    done.push('create');
    if (claim.conditionalCreate) {
      const again = await writer.ok((c) => c.create({ resourceType: type, body: example, options: { headers: { 'if-none-exist': `_id=${current.id}` } } }));
      expect(again.status, `${type} conditional create of an existing one`).toBe(200);
      expect(again.resource!.id).toBe(current.id);
      done.push('conditional-create');
    }
  } else {
    const found = await reader.ok((c) => c.search({ resourceType: type, searchParams: { _count: 1 } }));
    const first = ((found.resource!.entry as { resource: Resource }[] | undefined) ?? [])[0];
    if (!first) throw new Error(`${type}: nothing to read, and the type cannot be created`);
    current = first.resource;
  }
  const id = current.id as string;
  expect(current.meta?.versionId, `${type}: every resource carries meta.versionId (versioning ${claim.versioning})`).toMatch(/^\S+$/);

  if (can('read')) {
    const read = await reader.ok((c) => c.read({ resourceType: type, id }));
    expect(read.resource!.id).toBe(id);
    expect(read.headers.get('etag'), `${type} read ETag`).toBe(`W/"${read.resource!.meta!.versionId}"`);
    done.push('read');
  }
  if (can('search-type') && (claim.searchParam ?? []).some((p) => p.name === '_id')) {
    const found = await reader.ok((c) => c.search({ resourceType: type, searchParams: { _id: id } }));
    expect(matchIds(found.resource), `${type}?_id`).toEqual([id]);
    done.push('search-type');
  }
  if (can('update') && probe.change) {
    const version = current.meta!.versionId as string;
    if (claim.versioning === 'versioned-update') {
      const stale = await writer.fails((c) => c.update({ resourceType: type, id, body: { ...probe.change!(example), id }, options: { headers: { 'if-match': 'W/"999"' } } }));
      expect(stale.status, `${type} update with a stale If-Match`).toBe(412);
    }
    const updated = await writer.ok((c) => c.update({ resourceType: type, id, body: { ...probe.change!(example), id }, options: { headers: { 'if-match': `W/"${version}"` } } }));
    expect(updated.status, `${type} update`).toBe(200);
    expect(updated.resource!.meta!.versionId, `${type} update makes a new version`).not.toBe(version);
    current = updated.resource!;
    done.push('update');

    const freshId = `conf-${crypto.randomUUID().slice(0, 8)}`;
    if (claim.updateCreate) {
      const made = await writer.ok((c) => c.update({ resourceType: type, id: freshId, body: { ...example, id: freshId } }));
      expect(made.status, `${type} updateCreate`).toBe(201);
      done.push('update-create');
    } else {
      const refused = await writer.fails((c) => c.update({ resourceType: type, id: freshId, body: { ...example, id: freshId } }));
      expect(refused.status, `${type} does not claim updateCreate`).toBeGreaterThanOrEqual(400);
      await writer.fails((c) => c.read({ resourceType: type, id: freshId }));
    }
  }
  if (can('vread')) {
    const first = await reader.ok((c) => c.vread({ resourceType: type, id, version: '1' }));
    expect(first.resource!.meta!.versionId).toBe('1');
    done.push('vread');
  }
  if (can('history-instance')) {
    const history = await reader.ok((c) => c.resourceHistory({ resourceType: type, id }));
    const versions = ((history.resource!.entry as { resource: Resource }[]) ?? []).map((e) => e.resource.meta?.versionId);
    expect(history.resource!.type).toBe('history');
    expect(versions[0], `${type} history starts with the newest version`).toBe(current.meta!.versionId);
    expect(versions).toContain('1');
    done.push('history-instance');
  }
  if (can('delete')) {
    const deleted = await writer.ok((c) => c.delete({ resourceType: type, id }));
    expect(deleted.status).toBe(200);
    const after = probe.afterDelete ?? { gone: true };
    if ('gone' in after) {
      const gone = await writer.fails((c) => c.read({ resourceType: type, id }));
      expect([404, 410], `${type} read after delete`).toContain(gone.status);
    } else {
      const read = await writer.ok((c) => c.read({ resourceType: type, id }));
      expect(read.resource!.status, `${type} status after delete`).toBe(after.status);
    }
    done.push('delete');
  }
  return done;
}
