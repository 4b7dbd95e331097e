// Every rule of the Consent profile: the mapper names it, and (for the profile's invariants) the
// validator finds the same rule id by evaluating the StructureDefinition's FHIRPath.
import { describe, expect, it } from 'vitest';
import { PROFILE } from '../../profiles/index.js';
import { consentToPermissionInput, profileRuleKeys } from '../../server/fhir/mapping/index.js';
import { FhirRuleError, validateResource } from '../../server/fhir/validation/index.js';
import { clientConsent, consentCtx } from './fixtures.js';

type Body = ReturnType<typeof clientConsent>;
const DC = 'http://consentry.example/fhir/CodeSystem/data-category';
const STUDY = 'http://consentry.example/fhir/StructureDefinition/research-study-id';

export const CONSENT_VIOLATIONS: Record<string, (c: Body) => void> = {
  'ccs-0': (c) => { c.resourceType = 'Patient'; },
  'ppc-1': (c) => { delete c.policyRule; },
  'ppc-2': (c) => { delete c.patient; },
  'ppc-3': (c) => { delete c.patient; c.scope.coding[0].code = 'research'; },
  'ccs-1': (c) => { c.scope.coding[0].code = 'treatment'; },
  'ccs-2': (c) => { c.category[0].coding[0].code = '64292-6'; },
  'ccs-3': (c) => { c.policyRule.coding[0].code = 'OPTOUT'; },
  'ccs-4': (c) => { c.identifier = [{ value: 'form-17' }]; },
  'ccs-5': (c) => { c.performer = [{ reference: 'Practitioner/lee' }]; },
  'ccs-6': (c) => { c.provision.type = 'deny'; },
  'ccs-7': (c) => { c.provision.actor.push(structuredClone(c.provision.actor[0])); },
  'ccs-8': (c) => { c.provision.actor[0].role.coding[0].code = 'PRCP'; },
  'ccs-9': (c) => { c.provision.actor[0].reference.reference = 'RelatedPerson/mum'; },
  'ccs-10': (c) => { delete c.provision.period.end; },
  'ccs-11': (c) => { c.provision.period.end = '2025-01-01T00:00:00Z'; },
  'ccs-12': (c) => { c.provision.action[0].coding[0].code = 'collect'; },
  'ccs-13': (c) => { c.provision.code[0].coding[0].system = 'http://loinc.org'; },
  'ccs-14': (c) => { c.provision.provision = [{ type: 'permit', code: [{ coding: [{ system: DC, code: 'imaging' }] }] }]; },
  'ccs-15': (c) => { c.provision.class = [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }]; },
  'ccs-16': (c) => { c.provision.purpose = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HMARKT' }]; },
  'ccs-17': (c) => { c.provision.action.push({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose' }] }); },
  'ccs-18': (c) => { c.extension = [{ url: STUDY, valueString: 'study-42' }]; },
  'ccs-19': (c) => { c.extension = [{ url: 'http://consentry.example/fhir/StructureDefinition/anonymize', valueString: 'yes' }]; },
  'ccs-20': (c) => { c.provision.actor[0].extension = [{ url: 'http://consentry.example/fhir/StructureDefinition/grantee-kind', valueCode: 'organization' }]; },
  'ccs-w1': (c) => { c.status = 'draft'; },
  'ccs-w2': (c) => { c.provision.purpose = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG' }]; },
  'ccs-w3': (c) => { c.extension = [{ url: 'http://consentry.example/fhir/StructureDefinition/emergency-access', valueBoolean: true }]; },
  'ccs-w4': (c) => { c.patient.reference = 'Patient/nobody'; c.performer = undefined; },
  'ccs-w5': (c) => { c.provision.actor[0].reference.reference = 'Practitioner/nobody'; },
  'ccs-w6': (c) => { c.provision.period.start = '2025-01'; },
  'ccs-w7': (c) => { c.provision.period = { start: '2024-01-01T00:00:00Z', end: '2024-06-01T00:00:00Z' }; },
};

function ruleOf(body: unknown): string | undefined {
  try {
    consentToPermissionInput(body, consentCtx);
    return undefined;
  } catch (e) {
    if (!(e instanceof FhirRuleError)) throw e;
    return e.rule;
  }
}

describe('Consent rules', () => {
  it('the unmodified client consent breaks no rule and validates clean', () => {
    expect(ruleOf(clientConsent())).toBeUndefined();
    expect(validateResource(clientConsent(), { profile: PROFILE.consent })).toEqual([]);
  });

  it('every invariant of the profile has a violation case here', () => {
    const keys = profileRuleKeys(PROFILE.consent);
    expect(keys.length).toBeGreaterThan(15);
    for (const key of keys) expect(Object.keys(CONSENT_VIOLATIONS)).toContain(key);
  });

  for (const [rule, mutate] of Object.entries(CONSENT_VIOLATIONS)) {
    it(`${rule}: the mapper names it`, () => {
      const body = clientConsent();
      mutate(body);
      expect(ruleOf(body)).toBe(rule);
    });
  }

  for (const rule of profileRuleKeysSafe()) {
    it(`${rule}: the validator finds it from the StructureDefinition's FHIRPath`, () => {
      const body = clientConsent();
      CONSENT_VIOLATIONS[rule](body);
      const issues = validateResource(body, { profile: PROFILE.consent });
      expect(issues.filter((i) => i.severity === 'error').map((i) => i.rule)).toContain(rule);
    });
  }

  it('elements the profile forbids are structure errors for the validator too (ccs-4)', () => {
    const body = clientConsent();
    CONSENT_VIOLATIONS['ccs-4'](body);
    const issues = validateResource(body, { profile: PROFILE.consent });
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', expression: 'Consent.identifier' }));
    expect(validateResource(body)).toEqual([]);
  });
});

function profileRuleKeysSafe(): string[] {
  return profileRuleKeys(PROFILE.consent);
}
