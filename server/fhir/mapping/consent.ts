// Consent ↔ ledger Permission (DESIGN §4). Pure functions: no I/O beyond the profile files, no clock.
//
// Choices (also in profiles/README.md):
// - status: revoked, or `to` reached → inactive; otherwise active, including a permission whose period
//   has not started (R4 has no "not yet in force" status; provision.period says when it applies).
// - categories: listed codes → provision.code, one CodeableConcept each. "*" (every category but
//   patient-private) → no provision.code plus one nested deny provision for patient-private, so a
//   standard client reads the exclusion. "*" with patient-private → all six codes listed.
// - performer: the patient; omitted for break-glass permissions, which the patient did not grant.
import type { CodeableConcept, Consent, ConsentProvision, Extension, ResourceType } from '@medplum/fhirtypes';
import { PURPOSES, RIGHTS, type Grantee, type Permission, type Purpose, type Right } from '../../../chaincode/src/records.js';
import { DATA_CATEGORY_SYSTEM, dataCategories, EXTENSION, PROFILE } from '../../../profiles/index.js';
import {
  ACTION_OF_RIGHT,
  CONSENT_CATEGORY_LOINC,
  PURPOSE_DISPLAY,
  REFERENCE_TYPE_OF_GRANTEE,
  RIGHT_OF_ACTION,
  SYSTEM,
} from './codes.js';
import { asObject, codings, extensions, hasCoding, list, objects, present, str, type Json } from './json.js';
import { ruleError } from './rules.js';
import { instantMs, isoInstant } from './time.js';

const ALL = '*';
const PATIENT_PRIVATE = 'patient-private';

export interface PermissionToConsentContext {
  /** the FHIR Patient id at this hospital */
  patientId: string;
  versionId: string;
  lastUpdated: string;
  txId: string;
  blockNumber: number;
  /** e.g. "Practitioner/lee" or "Organization/HospitalBMSP" */
  granteeReference: string;
  now: Date;
}

export function permissionToConsent(permission: Permission, ctx: PermissionToConsentContext): Consent {
  const patient = { reference: `Patient/${ctx.patientId}` };
  const ended = ctx.now.getTime() >= Date.parse(permission.to);
  const research = permission.studyId !== undefined;
  const extension: Extension[] = [
    { url: EXTENSION.ledgerTxId, valueString: ctx.txId },
    { url: EXTENSION.ledgerBlockNumber, valueUnsignedInt: ctx.blockNumber },
  ];
  if (permission.studyId !== undefined) extension.push({ url: EXTENSION.researchStudyId, valueString: permission.studyId });
  if (permission.anonymize !== undefined) extension.push({ url: EXTENSION.anonymize, valueBoolean: permission.anonymize });
  if (permission.emergency) {
    extension.push({ url: EXTENSION.emergencyAccess, valueBoolean: true });
    if (permission.reason) extension.push({ url: EXTENSION.emergencyReason, valueString: permission.reason });
  }
  return {
    resourceType: 'Consent',
    id: permission.id,
    meta: {
      versionId: ctx.versionId,
      lastUpdated: ctx.lastUpdated,
      source: `urn:consentry:tx:${ctx.txId}`,
      profile: [PROFILE.consent],
    },
    extension,
    status: permission.status === 'revoked' || ended ? 'inactive' : 'active',
    scope: {
      coding: [
        research
          ? { system: SYSTEM.consentScope, code: 'research', display: 'Research' }
          : { system: SYSTEM.consentScope, code: 'patient-privacy', display: 'Privacy Consent' },
      ],
    },
    category: [{ coding: [{ system: SYSTEM.loinc, code: CONSENT_CATEGORY_LOINC }] }],
    patient,
    dateTime: permission.timestamp,
    ...(permission.emergency ? {} : { performer: [patient] }),
    policyRule: { coding: [{ system: SYSTEM.actCode, code: 'OPTIN' }] },
    provision: provisionOf(permission, ctx.granteeReference),
  };
}

function provisionOf(permission: Permission, granteeReference: string): ConsentProvision {
  // ccs-20 ties grantee-kind to a relative reference's type; a grantee at another hospital has an absolute
  // reference, whose type is stated in Reference.type instead
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(granteeReference);
  const provision: ConsentProvision = {
    type: 'permit',
    period: { start: permission.from, end: permission.to },
    actor: [
      {
        ...(absolute ? {} : { extension: [{ url: EXTENSION.granteeKind, valueCode: permission.grantee.kind }] }),
        role: { coding: [{ system: SYSTEM.participationType, code: 'IRCP', display: 'information recipient' }] },
        reference: { reference: granteeReference, ...(absolute ? { type: REFERENCE_TYPE_OF_GRANTEE[permission.grantee.kind] as ResourceType } : {}) },
      },
    ],
    action: RIGHTS.filter((r) => permission.rights.includes(r)).map((r) => ({
      coding: [{ system: SYSTEM.consentAction, code: ACTION_OF_RIGHT[r] }],
    })),
    purpose: [{ system: SYSTEM.actReason, code: permission.purpose, display: PURPOSE_DISPLAY[permission.purpose] }],
  };
  const categories = new Set(permission.categories);
  const known = dataCategories();
  const concept = (code: string): CodeableConcept => ({
    coding: [{ system: DATA_CATEGORY_SYSTEM, code, display: known.find((c) => c.code === code)?.display ?? code }],
  });
  if (categories.has(ALL) && !categories.has(PATIENT_PRIVATE)) {
    provision.provision = [{ type: 'deny', code: [concept(PATIENT_PRIVATE)] }];
  } else {
    const codes = categories.has(ALL) ? known.map((c) => c.code) : known.map((c) => c.code).filter((c) => categories.has(c));
    provision.code = codes.map(concept);
  }
  return provision;
}

/** What a Consent create or update asks of the ledger (GrantPermission / UpdatePermission terms). */
export interface ConsentPermissionInput {
  /** the Consent id, when the body has one (update); the router assigns one on create */
  id?: string;
  patient: string;
  grantee: Grantee;
  rights: Right[];
  categories: string[];
  from: string;
  to: string;
  purpose: Purpose;
  studyId?: string;
  anonymize?: boolean;
}

export interface ConsentToPermissionContext {
  /** the ledger pseudonym of the patient a "Patient/<id>" reference names, or undefined */
  resolvePatient(reference: string): string | undefined;
  /** the ledger grantee an actor reference ("Practitioner/lee", ...) names, or undefined */
  resolveGrantee(reference: string): Grantee | undefined;
  now: Date;
}

const UNSUPPORTED_ELEMENTS = ['identifier', 'implicitRules', 'contained', 'modifierExtension', 'organization', 'sourceAttachment', 'sourceReference', 'policy', 'verification'];
const UNSUPPORTED_RESTRICTIONS = ['dataPeriod', 'data', 'securityLabel', 'class'];
// relative, or absolute when the grantee is at another hospital (its FHIR base + type/id)
const ACTOR_REFERENCE = /^(https?:\/\/[^\s]+\/)?(Practitioner|Organization|Device|Group)\/[-A-Za-z0-9.]{1,64}$/;
const STUDY_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const WRITABLE_PURPOSES: readonly Purpose[] = PURPOSES.filter((p) => p !== 'BTG');

/**
 * Reads a Consent from a client into ledger permission terms, or throws a FhirRuleError naming the
 * first rule it breaks: R4 invariants (ppc-*), our profile's invariants (ccs-1..20) and the rules of
 * writing (ccs-w*). Server-set parts (meta, dateTime, ledger extensions) are ignored.
 */
export function consentToPermissionInput(consent: unknown, ctx: ConsentToPermissionContext): ConsentPermissionInput {
  const c = asObject(consent);
  const fail = (key: string, at: string, specifics?: string) => ruleError(PROFILE.consent, key, at, specifics);
  if (!c || c.resourceType !== 'Consent') throw fail('ccs-0', 'Consent');

  // R4 invariants first.
  if (!present(c.policy) && !present(c.policyRule)) throw fail('ppc-1', 'Consent');
  if (!present(c.patient) && hasCoding(c.scope, SYSTEM.consentScope, 'patient-privacy')) throw fail('ppc-2', 'Consent.patient');
  if (!present(c.patient) && hasCoding(c.scope, SYSTEM.consentScope, 'research')) throw fail('ppc-3', 'Consent.patient');

  const unsupported = UNSUPPORTED_ELEMENTS.find((k) => present(c[k]));
  if (unsupported) throw fail('ccs-4', `Consent.${unsupported}`);
  if (c.status !== 'active' && c.status !== 'proposed') throw fail('ccs-w1', 'Consent.status', `got ${JSON.stringify(c.status)}`);

  const research = hasCoding(c.scope, SYSTEM.consentScope, 'research');
  if (!research && !hasCoding(c.scope, SYSTEM.consentScope, 'patient-privacy')) throw fail('ccs-1', 'Consent.scope');
  if (!objects(c.category).some((cc) => hasCoding(cc, SYSTEM.loinc, CONSENT_CATEGORY_LOINC))) throw fail('ccs-2', 'Consent.category');
  if (!hasCoding(c.policyRule, SYSTEM.actCode, 'OPTIN')) throw fail('ccs-3', 'Consent.policyRule');

  const patientRef = str(asObject(c.patient)?.reference);
  const patient = patientRef === undefined ? undefined : ctx.resolvePatient(patientRef);
  if (patient === undefined) throw fail('ccs-w4', 'Consent.patient', patientRef ? `"${patientRef}" is not known` : 'no literal reference');

  const performers = objects(c.performer);
  if (list(c.performer).length > 0 && (performers.length !== 1 || str(performers[0].reference) !== patientRef)) {
    throw fail('ccs-5', 'Consent.performer');
  }

  const provision = asObject(c.provision);
  if (!provision || provision.type !== 'permit') throw fail('ccs-6', 'Consent.provision.type');
  if (present(provision.modifierExtension)) throw fail('ccs-4', 'Consent.provision.modifierExtension');
  const restriction = UNSUPPORTED_RESTRICTIONS.find((k) => present(provision[k]));
  if (restriction) throw fail('ccs-15', `Consent.provision.${restriction}`);

  const grantee = readActor(provision, ctx, fail);
  const [from, to] = readPeriod(provision, ctx, fail);
  const rights = readRights(provision, fail);
  const categories = readCategories(provision, fail);
  const purpose = readPurpose(provision, research, fail);
  const { studyId, anonymize } = readExtensions(c, fail);

  if (rights.includes('share') && studyId === undefined) throw fail('ccs-17', 'Consent.provision.action');
  if (research !== (studyId !== undefined)) throw fail('ccs-18', 'Consent.scope');

  const input: ConsentPermissionInput = { patient, grantee, rights, categories, from, to, purpose };
  if (typeof c.id === 'string') input.id = c.id;
  if (studyId !== undefined) input.studyId = studyId;
  if (anonymize !== undefined) input.anonymize = anonymize;
  return input;
}

type Fail = (key: string, at: string, specifics?: string) => Error;

function readActor(provision: Json, ctx: ConsentToPermissionContext, fail: Fail): Grantee {
  const actors = list(provision.actor);
  if (actors.length !== 1) throw fail('ccs-7', 'Consent.provision.actor', `found ${actors.length}`);
  const actor = asObject(actors[0]) ?? {};
  if (present(actor.modifierExtension)) throw fail('ccs-4', 'Consent.provision.actor[0].modifierExtension');
  if (!hasCoding(actor.role, SYSTEM.participationType, 'IRCP')) throw fail('ccs-8', 'Consent.provision.actor[0].role');
  const reference = str(asObject(actor.reference)?.reference);
  if (reference === undefined || !ACTOR_REFERENCE.test(reference)) throw fail('ccs-9', 'Consent.provision.actor[0].reference');
  const kinds = extensions(actor, EXTENSION.granteeKind);
  const kind = kinds.length > 0 ? kinds[0].valueCode : undefined;
  const expectedType = typeof kind === 'string' ? REFERENCE_TYPE_OF_GRANTEE[kind as Grantee['kind']] : undefined;
  if (kinds.length > 0 && (expectedType === undefined || !reference.startsWith(`${expectedType}/`))) {
    throw fail('ccs-20', 'Consent.provision.actor[0].extension', `grantee-kind ${JSON.stringify(kind)} with ${reference}`);
  }
  const grantee = ctx.resolveGrantee(reference);
  if (!grantee || (kind !== undefined && grantee.kind !== kind)) {
    throw fail('ccs-w5', 'Consent.provision.actor[0].reference', `"${reference}" is not known`);
  }
  return grantee;
}

function readPeriod(provision: Json, ctx: ConsentToPermissionContext, fail: Fail): [string, string] {
  const period = asObject(provision.period);
  if (!present(period?.start) || !present(period?.end)) throw fail('ccs-10', 'Consent.provision.period');
  const from = instantMs(period?.start);
  const to = instantMs(period?.end);
  if (from === undefined) throw fail('ccs-w6', 'Consent.provision.period.start', `got ${JSON.stringify(period?.start)}`);
  if (to === undefined) throw fail('ccs-w6', 'Consent.provision.period.end', `got ${JSON.stringify(period?.end)}`);
  if (!(to > from)) throw fail('ccs-11', 'Consent.provision.period');
  if (!(to > ctx.now.getTime())) throw fail('ccs-w7', 'Consent.provision.period.end');
  return [isoInstant(from), isoInstant(to)];
}

function readRights(provision: Json, fail: Fail): Right[] {
  const actions = list(provision.action);
  if (actions.length === 0) throw fail('ccs-12', 'Consent.provision.action', 'no action');
  const rights = new Set<Right>();
  actions.forEach((action, i) => {
    const supported = codings(action).filter((c) => c.system === SYSTEM.consentAction && c.code !== undefined && c.code in RIGHT_OF_ACTION);
    if (supported.length === 0) throw fail('ccs-12', `Consent.provision.action[${i}]`);
    for (const c of supported) rights.add(RIGHT_OF_ACTION[c.code as string]);
  });
  return RIGHTS.filter((r) => rights.has(r));
}

function readCategories(provision: Json, fail: Fail): string[] {
  const known = new Set(dataCategories().map((c) => c.code));
  const codes = list(provision.code);
  const nested = list(provision.provision);
  if (nested.length > 0 && !(codes.length === 0 && isPatientPrivateDeny(nested))) {
    throw fail('ccs-14', 'Consent.provision.provision');
  }
  if (codes.length === 0) return [ALL];
  const categories = new Set<string>();
  codes.forEach((concept, i) => {
    const ours = codings(concept).filter((c) => c.system === DATA_CATEGORY_SYSTEM && c.code !== undefined && known.has(c.code));
    if (ours.length === 0) throw fail('ccs-13', `Consent.provision.code[${i}]`);
    for (const c of ours) categories.add(c.code as string);
  });
  return [...categories].sort();
}

function isPatientPrivateDeny(nested: unknown[]): boolean {
  const deny = asObject(nested[0]);
  if (nested.length !== 1 || !deny || deny.type !== 'deny') return false;
  const codes = list(deny.code);
  if (codes.length !== 1 || !hasCoding(codes[0], DATA_CATEGORY_SYSTEM, PATIENT_PRIVATE)) return false;
  return Object.keys(deny).every((k) => k === 'type' || k === 'code' || k === 'id' || k === 'extension');
}

function readPurpose(provision: Json, research: boolean, fail: Fail): Purpose {
  const purposes = list(provision.purpose);
  if (purposes.length === 0) return research ? 'HRESCH' : 'TREAT';
  const p = asObject(purposes[0]);
  const code = str(p?.code) as Purpose | undefined;
  if (purposes.length > 1 || p?.system !== SYSTEM.actReason || code === undefined || !PURPOSES.includes(code)) {
    throw fail('ccs-16', 'Consent.provision.purpose');
  }
  if (!WRITABLE_PURPOSES.includes(code)) throw fail('ccs-w2', 'Consent.provision.purpose');
  return code;
}

function readExtensions(c: Json, fail: Fail): { studyId?: string; anonymize?: boolean } {
  const study = extensions(c, EXTENSION.researchStudyId);
  const anonymize = extensions(c, EXTENSION.anonymize);
  const emergency = extensions(c, EXTENSION.emergencyAccess);
  const reason = extensions(c, EXTENSION.emergencyReason);
  const typed =
    study.every((e) => typeof e.valueString === 'string' && STUDY_ID.test(e.valueString)) &&
    anonymize.every((e) => typeof e.valueBoolean === 'boolean') &&
    emergency.every((e) => typeof e.valueBoolean === 'boolean') &&
    reason.every((e) => typeof e.valueString === 'string');
  if (!typed || study.length > 1 || anonymize.length > 1) throw fail('ccs-19', 'Consent.extension');
  if (emergency.some((e) => e.valueBoolean === true) || reason.length > 0) throw fail('ccs-w3', 'Consent.extension');
  return {
    ...(study.length > 0 ? { studyId: study[0].valueString as string } : {}),
    ...(anonymize.length > 0 ? { anonymize: anonymize[0].valueBoolean as boolean } : {}),
  };
}
