import type { StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadExamples, loadProfiles, PROFILE } from '../../profiles/index.js';
import { buildSnapshot, loadBaseDefinition } from '../../profiles/snapshot.js';
import { permissionToConsent } from '../../server/fhir/mapping/index.js';
import {
  FhirInputError,
  hasErrors,
  parseFhirJson,
  parseReference,
  toOperationOutcome,
  validateResource,
} from '../../server/fhir/validation/index.js';
import { clientConsent, GRANTEES, leePermission, toConsentCtx } from './fixtures.js';

describe('profiles/', () => {
  it('holds the two profiles, nine extensions, the data-category CodeSystem and ValueSet, SearchParameters and OperationDefinitions', () => {
    const p = loadProfiles();
    expect(p.structureDefinitions.map((sd) => sd.url)).toEqual(expect.arrayContaining([PROFILE.consent, PROFILE.documentReference]));
    expect(p.structureDefinitions.filter((sd) => sd.type === 'Extension')).toHaveLength(9);
    expect(p.codeSystems[0].concept?.map((c) => c.code)).toEqual(['history-physical', 'lab-results', 'radiation-dose', 'imaging', 'treatment-plan', 'patient-private']);
    expect(p.valueSets[0].compose?.include[0].system).toBe(p.codeSystems[0].url);
    expect(p.searchParameters.length).toBeGreaterThanOrEqual(3);
    expect(p.operationDefinitions.map((d) => d.id).sort()).toEqual([
      'DocumentReference-rotate-key',
      'Patient-break-glass',
      'Patient-enroll',
      'Patient-erase',
      'Patient-export-keys',
      'Patient-revoke-identity',
      'Patient-rotate-keys',
      'Practitioner-enroll',
      'Practitioner-revoke-identity',
      'ledger-status',
    ]);
  });

  it('every conformance resource validates clean against R4', () => {
    const p = loadProfiles();
    for (const r of [...p.structureDefinitions, ...p.codeSystems, ...p.valueSets, ...p.searchParameters, ...p.operationDefinitions]) {
      expect({ id: r.id, issues: validateResource(r) }).toEqual({ id: r.id, issues: [] });
    }
  });

  it('the stored snapshots are what the differentials generate (run `npx tsx profiles/generate.ts` after an edit)', () => {
    const bases = new Map<string, StructureDefinition>();
    for (const sd of loadProfiles().structureDefinitions) {
      const baseUrl = sd.baseDefinition as string;
      if (!bases.has(baseUrl)) bases.set(baseUrl, loadBaseDefinition(baseUrl));
      expect(sd.snapshot?.element).toEqual(buildSnapshot(sd, bases.get(baseUrl) as StructureDefinition));
    }
  });

  it('the seed-scenario examples validate clean against R4 and our profiles', () => {
    const examples = loadExamples();
    expect(examples.map((e) => e.resourceType).sort()).toEqual(['Consent', 'DocumentReference']);
    for (const example of examples) {
      expect(example.meta?.profile).toHaveLength(1);
      expect(validateResource(example)).toEqual([]);
    }
  });

  it('the Consent example is what the mapper makes of the seed grant', () => {
    const example = loadExamples().find((e) => e.resourceType === 'Consent');
    const { text: _text, ...mapped } = { ...example } as Record<string, unknown>;
    expect(permissionToConsent(leePermission(), toConsentCtx('Practitioner/lee', new Date('2025-01-10T00:00:00Z')))).toEqual(mapped);
  });
});

describe('validateResource', () => {
  it('passes Consents made by the mapper, for every kind of grant', () => {
    const permissions = [
      leePermission(),
      leePermission({ categories: ['*'], status: 'revoked' }),
      leePermission({ grantee: GRANTEES['Group/study-42'], rights: ['read', 'share'], studyId: 'study-42', anonymize: false, purpose: 'HRESCH' }),
      leePermission({ id: 'btg-1', categories: ['*'], purpose: 'BTG', emergency: true, reason: 'ER' }),
    ];
    for (const p of permissions) {
      const ref = p.grantee.kind === 'study' ? 'Group/study-42' : 'Practitioner/lee';
      expect(validateResource(permissionToConsent(p, toConsentCtx(ref)))).toEqual([]);
    }
  });

  it('reports an unknown or missing resourceType', () => {
    expect(validateResource({ resourceType: 'Consentx' })).toEqual([
      expect.objectContaining({ severity: 'error', diagnostics: 'unknown resourceType "Consentx"' }),
    ]);
    expect(validateResource({ status: 'active' })[0].diagnostics).toMatch(/resourceType is missing/);
    expect(validateResource([])[0].code).toBe('structure');
  });

  it('reports unknown elements, wrong types, cardinality and missing required elements', () => {
    const body = clientConsent();
    body.provision.actor[0].nickname = 'Dr. L';
    body.dateTime = 20250106;
    body.scope = [body.scope];
    delete body.category;
    const issues = validateResource(body);
    const at = (expression: string) => issues.filter((i) => i.expression === expression).map((i) => i.diagnostics);
    expect(at('Consent.provision.actor[0].nickname')).toEqual(['Invalid additional property "nickname"']);
    expect(at('Consent.dateTime')[0]).toMatch(/expected string/);
    expect(at('Consent.scope')[0]).toMatch(/single value/);
    expect(at('Consent.category')[0]).toMatch(/Missing required property/);
  });

  it('reports resource ids that are not FHIR ids', () => {
    const longId = permissionToConsent(leePermission({ id: 'btg-' + 'a'.repeat(64) }), toConsentCtx());
    expect(validateResource(longId)).toEqual([expect.objectContaining({ expression: 'Consent.id', code: 'value' })]);
    expect(validateResource({ ...clientConsent(), id: 'a_b' })[0].expression).toBe('Consent.id');
  });

  it('reports invalid and impossible dates and instants', () => {
    const body = clientConsent();
    body.dateTime = '2025-13-01';
    body.provision.period.start = '2025-02-30T10:00:00Z';
    const issues = validateResource(body);
    expect(issues).toContainEqual(expect.objectContaining({ expression: 'Consent.dateTime', diagnostics: 'Invalid dateTime format' }));
    expect(issues).toContainEqual(expect.objectContaining({ expression: 'Consent.provision.period.start', code: 'value' }));
    const doc = { resourceType: 'DocumentReference', status: 'current', date: '2025-01-03', content: [{ attachment: { url: 'Binary/x' } }] };
    expect(validateResource(doc)).toContainEqual(expect.objectContaining({ expression: 'DocumentReference.date', diagnostics: 'Invalid instant format' }));
  });

  it('checks required bindings, also inside nested and contained resources', () => {
    const body = clientConsent();
    body.status = 'approved';
    body.provision.type = 'maybe';
    expect(validateResource(body).filter((i) => i.code === 'code-invalid').map((i) => i.expression)).toEqual(['Consent.status', 'Consent.provision.type']);
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'DocumentReference', status: 'final', content: [{ attachment: { url: 'Binary/x' } }] } }] };
    expect(validateResource(bundle)).toContainEqual(expect.objectContaining({ code: 'code-invalid', expression: 'Bundle.entry[0].resource.status' }));
  });

  it('applies our profile from meta.profile, and only warns about unknown profiles', () => {
    const body = clientConsent();
    body.provision.actor[0].role.coding[0].code = 'PRCP';
    expect(hasErrors(validateResource(body))).toBe(false);
    body.meta = { profile: [PROFILE.consent] };
    expect(validateResource(body).map((i) => i.rule)).toContain('ccs-8');
    const other = { resourceType: 'Basic', code: { text: 'x' }, meta: { profile: ['http://example.org/StructureDefinition/x'] } };
    expect(validateResource(other)).toEqual([expect.objectContaining({ severity: 'warning', code: 'not-supported' })]);
    expect(validateResource(other, { profile: 'http://example.org/StructureDefinition/y' })[0].severity).toBe('error');
    expect(validateResource({ resourceType: 'Basic', code: { text: 'x' } }, { profile: PROFILE.consent })[0].diagnostics).toMatch(/constrains Consent, not Basic/);
  });

  it('turns issues into an OperationOutcome that itself validates', () => {
    const body = clientConsent();
    body.meta = { profile: [PROFILE.consent] };
    body.provision.type = 'deny';
    const outcome = toOperationOutcome(validateResource(body));
    expect(outcome.issue.some((i) => i.details?.coding?.[0].code === 'ccs-6')).toBe(true);
    expect(validateResource(outcome)).toEqual([]);
    expect(validateResource(toOperationOutcome([]))).toEqual([]);
  });

  it('survives hostile bodies end to end: parse errors are FhirInputErrors, never crashes', () => {
    const bodies = ['{"resourceType":"Consent","__proto__":{}}', '['.repeat(10_000), '{"resourceType":"Consent","a":1,"a":2}'];
    for (const b of bodies) expect(() => parseFhirJson(b)).toThrow(FhirInputError);
    const parsed = parseFhirJson('{"resourceType":"Consent","status":"active","extension":[{"url":"x","valueFoo":1}]}');
    expect(hasErrors(validateResource(parsed))).toBe(true);
  });
});

describe('parseReference', () => {
  it('parses literal references, versioned or absolute under the base URL', () => {
    expect(parseReference('Patient/123')).toEqual({ type: 'Patient', id: '123' });
    expect(parseReference({ reference: 'Consent/c-1/_history/3' })).toEqual({ type: 'Consent', id: 'c-1', version: '3' });
    expect(parseReference('http://localhost:8080/fhir/Practitioner/lee', { baseUrl: 'http://localhost:8080/fhir/' })).toEqual({ type: 'Practitioner', id: 'lee' });
    expect(parseReference('Practitioner/lee', { types: ['Practitioner', 'Organization'] })).toEqual({ type: 'Practitioner', id: 'lee' });
  });

  it('refuses broken references with a FhirInputError', () => {
    for (const [ref, options] of [
      ['Patient', {}],
      ['Patient/', {}],
      ['Patient/a b', {}],
      ['Pateint/123', {}],
      ['#contained', {}],
      ['Patient?identifier=x', {}],
      ['https://elsewhere.example/fhir/Patient/1', { baseUrl: 'http://localhost:8080/fhir' }],
      ['http://localhost:8080/fhir/Patient/1', {}],
      ['Organization/1', { types: ['Patient'] }],
      [42, {}],
      ['Patient/' + 'x'.repeat(65), {}],
    ] as const) {
      expect(() => parseReference(ref, options), String(ref)).toThrow(FhirInputError);
    }
    expect(() => parseReference('Pateint/123')).toThrow(/not a FHIR R4 resource type/);
  });
});
