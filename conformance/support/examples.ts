import type { Resource } from '../../server/fhir/resource.js';
import { consentBody, documentBody } from '../../test/support/seed-scenario.js';

export type Writer = 'patient' | 'ryu' | 'admin';

/** How the suite exercises one resource type: a valid example, who may write it, and what a change looks like. */
export interface TypeProbe {
  /** a valid resource as a client would send it (no id, no meta) */
  example(people: { patientId: string }): Resource;
  /** the user who may create, update and delete it; undefined for read-only types */
  writer?: Writer;
  /** the same resource with one change a client may make on update */
  change?(resource: Resource): Resource;
  /** how a deleted resource reads afterwards: gone (404/410), or still there in a final status */
  afterDelete?: { gone: true } | { status: string };
}

const text = (s: string) => Buffer.from(s, 'utf8');

export const TYPE_PROBES: Record<string, TypeProbe> = {
  Consent: {
    example: (p) => consentBody(p.patientId, 'Practitioner/ryu', ['imaging']),
    writer: 'patient',
    change: (r) => ({ ...r, provision: { ...(r.provision as object), code: [...((r.provision as { code: unknown[] }).code ?? []), { coding: [{ system: 'http://consentry.example/fhir/CodeSystem/data-category', code: 'treatment-plan' }] }] } }),
    afterDelete: { status: 'inactive' },
  },
  DocumentReference: {
    example: (p) => documentBody(p.patientId, 'lab-results', '11502-2', { data: text('{"resourceType":"Bundle","type":"collection"}'), contentType: 'application/fhir+json' }),
    writer: 'ryu',
    change: (r) => ({ ...r, status: 'entered-in-error' }),
  },
  Patient: {
    example: () => ({ resourceType: 'Patient', active: true, name: [{ family: 'Probe', given: ['Conformance'] }], gender: 'other', birthDate: '1980-02-29' }),
    writer: 'admin',
    change: (r) => ({ ...r, telecom: [{ system: 'phone', value: '+1 631 555 0100' }] }),
    afterDelete: { gone: true },
  },
  Practitioner: {
    example: () => ({ resourceType: 'Practitioner', active: true, name: [{ family: 'Probe', given: ['Quinn'], prefix: ['Dr.'] }] }),
    writer: 'admin',
    change: (r) => ({ ...r, active: false }),
    afterDelete: { gone: true },
  },
  Organization: {
    example: () => ({ resourceType: 'Organization', active: true, name: 'Conformance Clinic' }),
    writer: 'admin',
    change: (r) => ({ ...r, alias: ['Probe Clinic'] }),
    afterDelete: { gone: true },
  },
  PractitionerRole: {
    example: () => ({ resourceType: 'PractitionerRole', active: true, practitioner: { reference: 'Practitioner/ryu' } }),
    writer: 'admin',
    change: (r) => ({ ...r, active: false }),
    afterDelete: { gone: true },
  },
  AuditEvent: {
    example: () => ({
      resourceType: 'AuditEvent',
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      action: 'R',
      recorded: '2025-01-02T03:04:05Z',
      outcome: '0',
      agent: [{ who: { reference: 'Practitioner/ryu' }, requestor: true }],
      source: { observer: { display: 'conformance suite' } },
    }),
  },
};

/** Invalid in ways every type shares: an unknown element, an id that is no FHIR id, a date that does not exist. */
export function invalidExample(type: string): Resource {
  return { resourceType: type, id: 'not a valid id!', meta: { lastUpdated: '2025-02-30T00:00:00Z' }, colour: 'blue' };
}
