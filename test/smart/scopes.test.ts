import { describe, expect, it } from 'vitest';
import { allows, describeScope, knownScopes, parseScope, parseScopes } from '../../server/smart/scopes.js';

describe('SMART scopes: one parser for v1 and v2', () => {
  it('reads v2 cruds subsets in order, v1 read/write/*, and the special scopes', () => {
    expect(parseScope('patient/Observation.rs')).toMatchObject({ kind: 'resource', context: 'patient', resourceType: 'Observation', interactions: ['r', 's'], syntax: 'v2' });
    expect(parseScope('user/*.cruds')).toMatchObject({ context: 'user', resourceType: '*', interactions: ['c', 'r', 'u', 'd', 's'] });
    expect(parseScope('system/Patient.read')).toMatchObject({ context: 'system', interactions: ['r', 's'], syntax: 'v1' });
    expect(parseScope('patient/*.write')).toMatchObject({ interactions: ['c', 'u', 'd'], syntax: 'v1' });
    expect(parseScope('patient/*.*')).toMatchObject({ interactions: ['c', 'r', 'u', 'd', 's'], syntax: 'v1' });
    for (const s of ['openid', 'fhirUser', 'launch', 'launch/patient', 'launch/encounter', 'offline_access', 'online_access']) expect(parseScope(s)).toEqual({ kind: s, scope: s });
  });

  it('reads ?category= constraints with or without a system (v2 only)', () => {
    const lab = parseScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    expect(lab).toMatchObject({ category: { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' } });
    expect(parseScope('patient/DocumentReference.r?category=lab-results')).toMatchObject({ category: { code: 'lab-results' } });
    expect(parseScope('patient/Observation.rs?category=a%7Cb')).toMatchObject({ category: { system: 'a', code: 'b' } });
  });

  it('drops what it does not understand instead of guessing', () => {
    const bad = [
      'patient/Observation.sr', // out of order
      'patient/Observation.rr',
      'patient/Observation.',
      'patient/Observation.x',
      'patient/Observation.readwrite',
      'patient/Foo.rs', // no such R4 type
      'patient/observation.rs',
      'admin/Observation.rs',
      'patient/Observation.rs?code=1234', // a constraint this server cannot enforce
      'patient/Observation.rs?category=a&category=b',
      'patient/Observation.read?category=laboratory', // constraints are v2 only
      'patient/Observation.rs?category=',
      'patient/Observation.rs?category=%E0%A4%A',
      'launch/practitioner',
      'openid2',
      '',
    ];
    for (const s of bad) expect(parseScope(s), s).toBeUndefined();
    expect(knownScopes(`openid ${bad.join(' ')} patient/*.rs patient/*.rs`)).toEqual(['openid', 'patient/*.rs']);
  });

  it('allows() answers per type, interaction and category', () => {
    const scopes = parseScopes('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory user/DocumentReference.cr patient/Patient.read');
    const lab = { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' };
    expect(allows(scopes, { resourceType: 'Observation', interaction: 'r', category: lab })).toBe(true);
    expect(allows(scopes, { resourceType: 'Observation', interaction: 's', category: [{ code: 'vital-signs' }, lab] })).toBe(true);
    expect(allows(scopes, { resourceType: 'Observation', interaction: 'r', category: { system: 'x', code: 'laboratory' } })).toBe(false);
    expect(allows(scopes, { resourceType: 'Observation', interaction: 'r' })).toBe(false);
    expect(allows(scopes, { resourceType: 'Observation', interaction: 'c', category: lab })).toBe(false);
    expect(allows(scopes, { resourceType: 'DocumentReference', interaction: 'c' })).toBe(true);
    expect(allows(scopes, { resourceType: 'DocumentReference', interaction: 'd' })).toBe(false);
    expect(allows(scopes, { resourceType: 'Patient', interaction: 's' })).toBe(true);
    expect(allows(scopes, { resourceType: 'Patient', interaction: 'u' })).toBe(false);
    expect(allows(scopes, { resourceType: 'DocumentReference', interaction: 'r', contexts: ['patient'] })).toBe(false);
    expect(allows(parseScopes('patient/*.rs'), { resourceType: 'Consent', interaction: 's' })).toBe(true);
    expect(allows(parseScopes('openid launch/patient'), { resourceType: 'Patient', interaction: 'r' })).toBe(false);
  });

  it('describes each scope for the consent screen', () => {
    expect(describeScope(parseScope('patient/Observation.rs')!)).toBe('read, search the patient’s Observation records');
    expect(describeScope(parseScope('offline_access')!)).toMatch(/keep access/);
  });
});
