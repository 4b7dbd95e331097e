import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXTENSION, PROFILE } from '../../profiles/index.js';
import { documentMetaToDocumentReference, documentReferenceToInput, profileRuleKeys } from '../../server/fhir/mapping/index.js';
import { FhirRuleError, validateResource } from '../../server/fhir/validation/index.js';
import { clientDocumentReference, documentCtx, doseReportMeta, PSEUDONYM } from './fixtures.js';

const readCtx = { patientId: 'seed-patient', authorReference: 'Practitioner/ryu', versionId: '2', lastUpdated: '2025-01-03T14:20:00.000Z', txId: 'abc123', blockNumber: 17 };

describe('documentMetaToDocumentReference', () => {
  it('maps the dose report as DESIGN §4 says', () => {
    const d = documentMetaToDocumentReference(doseReportMeta(), { ...readCtx, baseUrl: 'http://localhost:8080/fhir/' });
    expect(d.id).toBe('seed-dose-report');
    expect(d.status).toBe('current');
    expect(d.docStatus).toBe('final');
    expect(d.type?.coding).toEqual([{ system: 'http://loinc.org', code: '73569-6' }]);
    expect(d.category?.[0].coding?.[0]).toMatchObject({ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'radiation-dose' });
    expect(d.subject).toEqual({ reference: 'Patient/seed-patient' });
    expect(d.date).toBe('2025-01-03T14:20:00.000Z');
    expect(d.author).toEqual([{ reference: 'Practitioner/ryu' }]);
    const attachment = d.content[0].attachment;
    expect(attachment).toMatchObject({ contentType: 'application/pdf', url: 'http://localhost:8080/fhir/Binary/seed-dose-report', size: 48213 });
    expect(attachment.hash).toBeUndefined();
    expect(attachment.extension).toEqual([{ url: EXTENSION.ciphertextSha256, valueString: doseReportMeta().ciphertextSha256 }]);
    expect(d.meta?.versionId).toBe('2');
    expect(d.extension).toContainEqual({ url: EXTENSION.ledgerBlockNumber, valueUnsignedInt: 17 });
  });

  it('maps supersedes to relatesTo replaces, and ledger statuses to R4 ones', () => {
    const d = documentMetaToDocumentReference(doseReportMeta({ id: 'v2', supersedes: 'seed-dose-report' }), readCtx);
    expect(d.relatesTo).toEqual([{ code: 'replaces', target: { reference: 'DocumentReference/seed-dose-report' } }]);
    expect(d.content[0].attachment.url).toBe('Binary/v2');
    const statuses = (['current', 'superseded', 'entered-in-error', 'erased'] as const).map(
      (status) => documentMetaToDocumentReference(doseReportMeta({ status }), readCtx).status,
    );
    expect(statuses).toEqual(['current', 'superseded', 'entered-in-error', 'entered-in-error']);
    const erased = documentMetaToDocumentReference(doseReportMeta({ status: 'erased' }), readCtx);
    expect(erased.extension).toContainEqual({ url: EXTENSION.ledgerDocumentStatus, valueCode: 'erased' });
  });

  it('leaves out a size R4 cannot express', () => {
    const d = documentMetaToDocumentReference(doseReportMeta({ size: 3 * 1024 ** 3 }), readCtx);
    expect(d.content[0].attachment.size).toBeUndefined();
    expect(validateResource(d)).toEqual([]);
  });

  it('produces resources that validate clean against R4 and the profile', () => {
    for (const meta of [doseReportMeta(), doseReportMeta({ supersedes: 'old', status: 'superseded' }), doseReportMeta({ status: 'erased' })]) {
      expect(validateResource(documentMetaToDocumentReference(meta, readCtx))).toEqual([]);
    }
  });
});

describe('documentReferenceToInput', () => {
  it('reads inline content', () => {
    const input = documentReferenceToInput(clientDocumentReference(), documentCtx);
    expect(input).toEqual({
      patient: PSEUDONYM,
      category: 'radiation-dose',
      type: '73569-6',
      contentType: 'text/plain',
      inlineData: Buffer.from('dose: 60 Gy in 30 fractions'),
    });
  });

  it('checks the declared size and SHA-1 of inline content', () => {
    const body = clientDocumentReference();
    const bytes = Buffer.from('dose: 60 Gy in 30 fractions');
    Object.assign(body.content[0].attachment, { size: bytes.length, hash: createHash('sha1').update(bytes).digest('base64') });
    expect(documentReferenceToInput(body, documentCtx).inlineData).toEqual(bytes);
  });

  it('reads a Binary reference, relative or under the base URL, and what it replaces', () => {
    const body = clientDocumentReference();
    body.content[0].attachment = { contentType: 'application/pdf', url: 'http://localhost:8080/fhir/Binary/b-17', size: 10, hash: 'AAAA' };
    body.relatesTo = [{ code: 'replaces', target: { reference: 'DocumentReference/seed-dose-report' } }];
    expect(documentReferenceToInput(body, documentCtx)).toEqual({
      patient: PSEUDONYM,
      category: 'radiation-dose',
      type: '73569-6',
      contentType: 'application/pdf',
      binaryId: 'b-17',
      declaredSize: 10,
      declaredSha1: 'AAAA',
      supersedes: 'seed-dose-report',
    });
    body.content[0].attachment.url = 'Binary/b-17';
    expect(documentReferenceToInput(body, documentCtx).binaryId).toBe('b-17');
  });
});

type Body = ReturnType<typeof clientDocumentReference>;
const DOCUMENT_VIOLATIONS: Record<string, (d: Body) => void> = {
  'cdr-0': (d) => { d.resourceType = 'Consent'; },
  'cdr-1': (d) => { d.description = 'dose report'; },
  'cdr-2': (d) => { d.category[0].coding[0].code = 'dental'; },
  'cdr-3': (d) => { d.type.coding[0].code = 'dose-report'; },
  'cdr-4': (d) => { d.subject.reference = 'Group/ward-3'; },
  'cdr-5': (d) => { delete d.content[0].attachment.contentType; },
  'cdr-6': (d) => { d.content[0].attachment.url = 'Binary/b-1'; },
  'cdr-7': (d) => { d.relatesTo = [{ code: 'appends', target: { reference: 'DocumentReference/seed-dose-report' } }]; },
  'cdr-8': (d) => { d.docStatus = 'preliminary'; },
  'cdr-9': (d) => { d.content[0].attachment.extension = [{ url: EXTENSION.ciphertextSha256, valueString: 'XYZ' }]; },
  'cdr-w1': (d) => { d.status = 'superseded'; },
  'cdr-w2': (d) => { d.subject.reference = 'Patient/nobody'; },
  'cdr-w3': (d) => { d.content[0].attachment.data = 'not base64!'; },
  'cdr-w4': (d) => { d.content[0].attachment = { contentType: 'application/pdf', url: 'https://elsewhere.example/fhir/Binary/b-1' }; },
  'cdr-w5': (d) => { d.content[0].attachment.contentType = 'pdf'; },
  'cdr-w6': (d) => { d.content[0].attachment.size = 5; },
  'cdr-w7': (d) => { d.content[0].attachment.hash = createHash('sha1').update('other').digest('base64'); },
};

describe('DocumentReference rules', () => {
  it('the client body breaks no rule and validates clean', () => {
    expect(() => documentReferenceToInput(clientDocumentReference(), documentCtx)).not.toThrow();
    expect(validateResource(clientDocumentReference(), { profile: PROFILE.documentReference })).toEqual([]);
  });

  it('every invariant of the profile has a violation case here', () => {
    for (const key of profileRuleKeys(PROFILE.documentReference)) expect(Object.keys(DOCUMENT_VIOLATIONS)).toContain(key);
  });

  for (const [rule, mutate] of Object.entries(DOCUMENT_VIOLATIONS)) {
    it(`${rule}: the mapper names it`, () => {
      const body = clientDocumentReference();
      mutate(body);
      const error = (() => {
        try {
          documentReferenceToInput(body, documentCtx);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(FhirRuleError);
      expect((error as FhirRuleError).rule).toBe(rule);
    });
  }

  for (const rule of profileRuleKeys(PROFILE.documentReference)) {
    it(`${rule}: the validator finds it from the StructureDefinition's FHIRPath`, () => {
      const body = clientDocumentReference();
      DOCUMENT_VIOLATIONS[rule](body);
      expect(validateResource(body, { profile: PROFILE.documentReference }).map((i) => i.rule)).toContain(rule);
    });
  }
});
