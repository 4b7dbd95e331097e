import { describe, expect, it } from 'vitest';
import { SEARCH_INCLUDE, SEARCH_MATCH } from '../../server/fhir/bundle.js';
import { bodyBytes } from '../../server/fhir/http/respond.js';

const doc = (id: string) => ({ resourceType: 'DocumentReference', id, meta: { versionId: '1' }, status: 'current', content: [{ attachment: { url: `Binary/${id}`, title: 'é "quoted" \u2028' } }] });

describe('response JSON', () => {
  it('is JSON.stringify byte for byte, for Bundles with and without entries and for other resources', () => {
    const shared = doc('a');
    const bodies: object[] = [
      { resourceType: 'Patient', id: 'p' },
      { resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: 'x?y=1' }], entry: [] },
      { resourceType: 'Bundle', type: 'searchset', total: 2, link: [{ relation: 'self', url: 'x' }], entry: [{ fullUrl: 'u/a', resource: shared, search: { mode: 'match' } }, { fullUrl: undefined, resource: doc('b'), search: { mode: 'outcome' } }] },
      { resourceType: 'Bundle', entry: [{ resource: shared }] },
      { resourceType: 'Bundle', type: 'history', entry: [{ resource: shared, request: { method: 'PUT' } }], total: 1 },
      { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '404' }, resource: null }] },
      // searchset entries as searchsetBundle makes them, the same resource under another fullUrl or mode, and in another shape
      { resourceType: 'Bundle', type: 'searchset', entry: [{ fullUrl: 'u/a', resource: shared, search: SEARCH_MATCH }, { fullUrl: 'u/b', resource: doc('b'), search: SEARCH_INCLUDE }] },
      { resourceType: 'Bundle', type: 'searchset', entry: [{ fullUrl: 'v/a', resource: shared, search: SEARCH_MATCH }, { fullUrl: 'u/a', resource: shared, search: SEARCH_INCLUDE }] },
      { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: shared, fullUrl: 'u/a', search: SEARCH_MATCH }, { fullUrl: 'u/a', resource: shared, search: SEARCH_MATCH, extra: 1 }] },
      shared,
    ];
    for (const body of bodies) {
      expect(bodyBytes(body).toString('utf8')).toBe(JSON.stringify(body));
      expect(bodyBytes(body).toString('utf8')).toBe(JSON.stringify(body)); // the second time from the remembered resources
      expect(bodyBytes(body).equals(Buffer.from(JSON.stringify(body)))).toBe(true);
    }
  });
});
