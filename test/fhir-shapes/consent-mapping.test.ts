import { describe, expect, it } from 'vitest';
import type { Permission } from '../../chaincode/src/records.js';
import { EXTENSION, PROFILE } from '../../profiles/index.js';
import { consentToPermissionInput, permissionToConsent } from '../../server/fhir/mapping/index.js';
import { FhirRuleError } from '../../server/fhir/validation/index.js';
import { clientConsent, consentCtx, GRANTEES, leePermission, PSEUDONYM, toConsentCtx, TX } from './fixtures.js';

function terms(p: Permission) {
  const { id, patient, grantee, rights, categories, from, to, purpose, studyId, anonymize } = p;
  return JSON.parse(JSON.stringify({ id, patient, grantee, rights, categories, from, to, purpose, studyId, anonymize }));
}

function roundTrip(p: Permission, granteeReference: string) {
  const consent = permissionToConsent(p, toConsentCtx(granteeReference));
  return consentToPermissionInput(JSON.parse(JSON.stringify(consent)), consentCtx);
}

describe('permissionToConsent', () => {
  it('maps the seed grant (Dr. Lee reads labs and doses for 90 days) as DESIGN §4 says', () => {
    const c = permissionToConsent(leePermission(), toConsentCtx());
    expect(c.status).toBe('active');
    expect(c.meta).toEqual({ versionId: '1', lastUpdated: '2025-01-06T09:00:00.000Z', source: `urn:consentry:tx:${TX}`, profile: [PROFILE.consent] });
    expect(c.extension).toContainEqual({ url: EXTENSION.ledgerTxId, valueString: TX });
    expect(c.extension).toContainEqual({ url: EXTENSION.ledgerBlockNumber, valueUnsignedInt: 42 });
    expect(c.scope?.coding?.[0].code).toBe('patient-privacy');
    expect(c.category?.[0].coding?.[0]).toEqual({ system: 'http://loinc.org', code: '59284-0' });
    expect(c.patient).toEqual({ reference: 'Patient/seed-patient' });
    expect(c.performer).toEqual([{ reference: 'Patient/seed-patient' }]);
    expect(c.dateTime).toBe('2025-01-06T09:00:00.000Z');
    expect(c.policyRule?.coding?.[0].code).toBe('OPTIN');
    const p = c.provision!;
    expect(p.type).toBe('permit');
    expect(p.period).toEqual({ start: '2025-01-06T09:00:00.000Z', end: '2025-04-06T09:00:00.000Z' });
    expect(p.actor?.[0].reference).toEqual({ reference: 'Practitioner/lee' });
    expect(p.actor?.[0].role.coding?.[0].code).toBe('IRCP');
    expect(p.action?.map((a) => a.coding?.[0].code)).toEqual(['access']);
    expect(p.code?.map((cc) => cc.coding?.[0].code)).toEqual(['lab-results', 'radiation-dose']);
    expect(p.purpose?.[0].code).toBe('TREAT');
    expect(p.provision).toBeUndefined();
  });

  it('is inactive once revoked or past its end, and active before its start', () => {
    expect(permissionToConsent(leePermission({ status: 'revoked', to: '2025-01-08T00:00:00.000Z' }), toConsentCtx()).status).toBe('inactive');
    expect(permissionToConsent(leePermission(), toConsentCtx('Practitioner/lee', new Date('2025-04-06T09:00:00.000Z'))).status).toBe('inactive');
    expect(permissionToConsent(leePermission(), toConsentCtx('Practitioner/lee', new Date('2025-01-01T00:00:00.000Z'))).status).toBe('active');
  });

  it('shows "*" as no provision.code plus an explicit deny of patient-private', () => {
    const c = permissionToConsent(leePermission({ categories: ['*'] }), toConsentCtx());
    expect(c.provision?.code).toBeUndefined();
    expect(c.provision?.provision).toEqual([
      { type: 'deny', code: [{ coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'patient-private', display: 'Patient-private notes' }] }] },
    ]);
  });

  it('maps write and share to correct and disclose, and a study grant to research scope', () => {
    const p = leePermission({ grantee: GRANTEES['Group/study-42'], rights: ['read', 'write', 'share'], studyId: 'study-42', anonymize: true, purpose: 'HRESCH' });
    const c = permissionToConsent(p, toConsentCtx('Group/study-42'));
    expect(c.scope?.coding?.[0].code).toBe('research');
    expect(c.provision?.action?.map((a) => a.coding?.[0].code)).toEqual(['access', 'correct', 'disclose']);
    expect(c.extension).toContainEqual({ url: EXTENSION.researchStudyId, valueString: 'study-42' });
    expect(c.extension).toContainEqual({ url: EXTENSION.anonymize, valueBoolean: true });
    expect(c.provision?.actor?.[0].extension).toEqual([{ url: EXTENSION.granteeKind, valueCode: 'study' }]);
  });

  it('flags break-glass permissions, with the reason, and names no performer', () => {
    const p = leePermission({ id: 'btg-1', categories: ['*'], purpose: 'BTG', emergency: true, reason: 'unconscious in the ER', grantedBy: 'HospitalBMSP/Practitioner/lee' });
    const c = permissionToConsent(p, toConsentCtx());
    expect(c.extension).toContainEqual({ url: EXTENSION.emergencyAccess, valueBoolean: true });
    expect(c.extension).toContainEqual({ url: EXTENSION.emergencyReason, valueString: 'unconscious in the ER' });
    expect(c.performer).toBeUndefined();
    expect(c.provision?.purpose?.[0].code).toBe('BTG');
    // Sending it back is refused: break-glass is never written through Consent.
    expect(() => consentToPermissionInput(JSON.parse(JSON.stringify(c)), consentCtx)).toThrow(/ccs-w2/);
  });
});

describe('Permission → Consent → permission terms', () => {
  const cases: [string, Permission, string][] = [
    ['the seed grant', leePermission(), 'Practitioner/lee'],
    ['all categories', leePermission({ categories: ['*'] }), 'Practitioner/lee'],
    ['an organization with write', leePermission({ grantee: GRANTEES['Organization/HospitalBMSP'], rights: ['read', 'write'], categories: ['imaging', 'treatment-plan'], purpose: 'ETREAT' }), 'Organization/HospitalBMSP'],
    ['a client app on patient-private', leePermission({ grantee: GRANTEES['Device/patient-app'], categories: ['patient-private'] }), 'Device/patient-app'],
    ['a study share', leePermission({ grantee: GRANTEES['Group/study-42'], rights: ['read', 'share'], studyId: 'study-42', anonymize: true, purpose: 'HRESCH' }), 'Group/study-42'],
  ];
  for (const [name, permission, ref] of cases) {
    it(`keeps ${name}`, () => {
      expect(roundTrip(permission, ref)).toEqual(terms(permission));
    });
  }

  it('keeps "*" with patient-private as the six categories listed', () => {
    const input = roundTrip(leePermission({ categories: ['*', 'patient-private'] }), 'Practitioner/lee');
    expect(input.categories).toEqual(['history-physical', 'imaging', 'lab-results', 'patient-private', 'radiation-dose', 'treatment-plan']);
  });
});

describe('consentToPermissionInput', () => {
  it('reads a client consent, normalizing times to UTC and defaulting the purpose', () => {
    const body = clientConsent();
    body.provision.period = { start: '2025-01-06T10:00:00+01:00', end: '2025-04-06' };
    expect(consentToPermissionInput(body, consentCtx)).toEqual({
      patient: PSEUDONYM,
      grantee: GRANTEES['Practitioner/lee'],
      rights: ['read'],
      categories: ['lab-results', 'radiation-dose'],
      from: '2025-01-06T09:00:00.000Z',
      to: '2025-04-06T00:00:00.000Z',
      purpose: 'TREAT',
    });
  });

  it('reads a consent without provision.code, with or without the patient-private deny, as "*"', () => {
    const body = clientConsent();
    delete body.provision.code;
    expect(consentToPermissionInput(body, consentCtx).categories).toEqual(['*']);
    body.provision.provision = [{ type: 'deny', code: [{ coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'patient-private' }] }] }];
    expect(consentToPermissionInput(body, consentCtx).categories).toEqual(['*']);
  });

  it('gives a FhirRuleError with rule id, message and location', () => {
    const body = clientConsent();
    body.provision.actor.push(body.provision.actor[0]);
    try {
      consentToPermissionInput(body, consentCtx);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FhirRuleError);
      const r = e as FhirRuleError;
      expect(r.rule).toBe('ccs-7');
      expect(r.expression).toBe('Consent.provision.actor');
      expect(r.message).toBe('ccs-7: provision names exactly one actor (found 2)');
      expect(r.constraint).toBe('provision.actor.count() = 1');
    }
  });
});
