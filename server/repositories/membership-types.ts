import type { SearchParamDef } from '../fhir/repository.js';

export const MEMBERSHIP_TYPES = ['Patient', 'Practitioner', 'Organization', 'PractitionerRole'] as const;
export type MembershipType = (typeof MEMBERSHIP_TYPES)[number];

/** The identifier system under which a patient's ledger pseudonym is searchable and shown. */
export const PSEUDONYM_SYSTEM = 'urn:consentry:pseudonym';

/**
 * How one search parameter is answered from the resource_search index (migration 004): `rows` are the
 * index params it reads (for `name`, every part of a HumanName).
 */
export type IndexedParam =
  | { kind: 'string'; name: string; documentation: string; rows: string[] }
  | { kind: 'token'; name: string; documentation: string; row: string; systems?: string[] }
  | { kind: 'date'; name: string; documentation: string; row: string }
  | { kind: 'reference'; name: string; documentation: string; row: string; target: MembershipType };

export interface MembershipTypeConfig {
  resourceType: MembershipType;
  params: IndexedParam[];
  /** sortable parameters besides _lastUpdated: the index param and column to sort on */
  sorts: Record<string, { row: string; column: 'norm' | 'low' }>;
}

const HUMAN_NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'name-text'];
const GENDER_SYSTEM = 'http://hl7.org/fhir/administrative-gender';

const identifier: IndexedParam = { kind: 'token', name: 'identifier', documentation: 'An identifier (system|value)', row: 'identifier' };
const active: IndexedParam = { kind: 'token', name: 'active', documentation: 'Whether the record is in active use (true|false)', row: 'active' };
const humanName: IndexedParam[] = [
  { kind: 'string', name: 'name', documentation: 'Any part of a name (family, given, prefix, suffix, text): starts with, ignoring case and accents', rows: HUMAN_NAME_PARTS },
  { kind: 'string', name: 'family', documentation: 'A family name: starts with, ignoring case and accents', rows: ['family'] },
  { kind: 'string', name: 'given', documentation: 'A given name: starts with, ignoring case and accents', rows: ['given'] },
];
const gender: IndexedParam = { kind: 'token', name: 'gender', documentation: 'Administrative gender', row: 'gender', systems: [GENDER_SYSTEM] };

export const MEMBERSHIP_CONFIG: Record<MembershipType, MembershipTypeConfig> = {
  Patient: {
    resourceType: 'Patient',
    params: [
      identifier,
      ...humanName,
      { kind: 'date', name: 'birthdate', documentation: 'The date of birth', row: 'birthdate' },
      gender,
      active,
      { kind: 'reference', name: 'organization', documentation: 'The managing organization', row: 'organization', target: 'Organization' },
      { kind: 'reference', name: 'general-practitioner', documentation: 'A nominated care provider (Practitioner)', row: 'general-practitioner', target: 'Practitioner' },
    ],
    sorts: { birthdate: { row: 'birthdate', column: 'low' }, family: { row: 'family', column: 'norm' }, given: { row: 'given', column: 'norm' } },
  },
  Practitioner: {
    resourceType: 'Practitioner',
    params: [identifier, ...humanName, gender, active],
    sorts: { family: { row: 'family', column: 'norm' }, given: { row: 'given', column: 'norm' } },
  },
  Organization: {
    resourceType: 'Organization',
    params: [
      identifier,
      { kind: 'string', name: 'name', documentation: 'The name or an alias: starts with, ignoring case and accents', rows: ['name', 'alias'] },
      active,
      { kind: 'reference', name: 'partof', documentation: 'The organization this one is part of', row: 'partof', target: 'Organization' },
    ],
    sorts: { name: { row: 'name', column: 'norm' } },
  },
  PractitionerRole: {
    resourceType: 'PractitionerRole',
    params: [
      identifier,
      active,
      { kind: 'reference', name: 'practitioner', documentation: 'The practitioner in this role', row: 'practitioner', target: 'Practitioner' },
      { kind: 'reference', name: 'organization', documentation: 'The organization where the role is available', row: 'organization', target: 'Organization' },
    ],
    sorts: {},
  },
};

export function searchParamDefs(config: MembershipTypeConfig): SearchParamDef[] {
  return [
    ...config.params.map((p) => ({ name: p.name, type: p.kind, documentation: p.documentation })),
    { name: '_id', type: 'token' as const, documentation: 'The logical id' },
    { name: '_lastUpdated', type: 'date' as const, documentation: 'When the current version was written' },
  ];
}
