// Rule lookup for the mappers: invariant rules take their text and FHIRPath from our StructureDefinitions
// (one source for validator and mapper); write rules, which only apply to create and update, live here.
import type { StructureDefinition } from '@medplum/fhirtypes';
import { structureDefinition } from '../../../profiles/index.js';
import { FhirRuleError } from '../validation/errors.js';

interface RuleText {
  human: string;
  expression?: string;
}

const R4_RULES: Record<string, RuleText> = {
  'ppc-1': { human: 'Either a Policy or PolicyRule', expression: 'policy.exists() or policyRule.exists()' },
  // R4 publishes ppc-2..ppc-5 with the placeholder system 'something'; we check what they mean.
  'ppc-2': {
    human: 'IF Scope=privacy, there must be a patient',
    expression: "patient.exists() or scope.coding.where(system='http://terminology.hl7.org/CodeSystem/consentscope' and code='patient-privacy').exists().not()",
  },
  'ppc-3': {
    human: 'IF Scope=research, there must be a patient',
    expression: "patient.exists() or scope.coding.where(system='http://terminology.hl7.org/CodeSystem/consentscope' and code='research').exists().not()",
  },
};

export const WRITE_RULES: Record<string, string> = {
  'ccs-0': 'the body must be a Consent resource',
  'ccs-4': 'the consent may not carry elements the ledger cannot keep or enforce (identifier, implicitRules, contained, modifierExtension, organization, source[x], policy, verification)',
  'ccs-w1': 'a consent is created or updated with status active or proposed (revoke it with DELETE)',
  'ccs-w2': 'purpose BTG is set only by break-glass access',
  'ccs-w3': 'emergency (break-glass) consents are created only through emergency access and cannot be changed',
  'ccs-w4': 'the patient must be a patient registered at this server',
  'ccs-w5': 'the actor must be a known practitioner, organization, client or study',
  'ccs-w6': 'period.start and period.end must be full dates or date-times with seconds and a time zone',
  'ccs-w7': 'period.end must be in the future',
  'cdr-0': 'the body must be a DocumentReference resource',
  'cdr-1': 'the document may not carry elements the ledger cannot keep (identifier, masterIdentifier, implicitRules, contained, modifierExtension, authenticator, custodian, description, securityLabel, context)',
  'cdr-w1': 'a document is created with status current',
  'cdr-w2': 'the subject must be a patient registered at this server',
  'cdr-w3': 'attachment.data must be valid base64',
  'cdr-w4': 'attachment.url must be Binary/<id> on this server',
  'cdr-w5': 'attachment.contentType must be a media type (type/subtype)',
  'cdr-w6': 'attachment.size must equal the size of the content',
  'cdr-w7': 'attachment.hash must be the base64 SHA-1 of the content',
};

const profileRuleCache = new Map<string, Map<string, RuleText>>();

function profileRules(profileUrl: string): Map<string, RuleText> {
  let rules = profileRuleCache.get(profileUrl);
  if (!rules) {
    const sd = structureDefinition(profileUrl) as StructureDefinition;
    rules = new Map();
    for (const c of sd.differential?.element?.[0]?.constraint ?? []) {
      rules.set(c.key as string, { human: c.human as string, expression: c.expression });
    }
    profileRuleCache.set(profileUrl, rules);
  }
  return rules;
}

/** The keys of the invariants a profile declares (for tests that every one is enforced). */
export function profileRuleKeys(profileUrl: string): string[] {
  return [...profileRules(profileUrl).keys()];
}

/** A FhirRuleError for rule `key` at FHIRPath location `at`, with optional specifics appended. */
export function ruleError(profileUrl: string, key: string, at: string, specifics?: string): FhirRuleError {
  const text = profileRules(profileUrl).get(key) ?? R4_RULES[key];
  const human = text?.human ?? WRITE_RULES[key];
  if (human === undefined) throw new Error(`unknown rule ${key}`);
  return new FhirRuleError(key, specifics ? `${human} (${specifics})` : human, at, text?.expression);
}
