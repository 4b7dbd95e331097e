import { CapabilityTool, type FhirResource } from 'fhir-kit-client';
import { conformanceResource, structureDefinition } from '../../profiles/index.js';
import type { Resource } from '../../server/fhir/resource.js';
import type { FhirUser, RawAnswer } from '../support/client.js';

/** What the CapabilityStatement says about one resource type (R4 CapabilityStatement.rest.resource). */
export interface ResourceClaim {
  type: string;
  interaction?: { code: string }[];
  searchParam?: { name: string; type: string; definition?: string }[];
  searchInclude?: string[];
  searchRevInclude?: string[];
  operation?: { name: string; definition?: string }[];
  supportedProfile?: string[];
  versioning?: string;
  updateCreate?: boolean;
  conditionalCreate?: boolean;
}

export const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

const MISSING = 'conformance-missing';

export function claimsOf(statement: Resource): ResourceClaim[] {
  return ((statement.rest as { resource?: ResourceClaim[] }[] | undefined)?.[0]?.resource ?? []) as ResourceClaim[];
}

export function capabilityTool(statement: Resource): CapabilityTool {
  return new CapabilityTool(statement as FhirResource);
}

/**
 * Sends each type-level interaction of R4 to a type, against an id that does not exist or with a body the
 * validator refuses, so nothing changes. A listed interaction must reach its implementation (no 405, no
 * "not supported", no 5xx); one left out must be refused with a 4xx. Returns every mismatch.
 */
export async function probeInteractions(user: FhirUser, claim: ResourceClaim): Promise<string[]> {
  const tool = (code: string) => (claim.interaction ?? []).some((i) => i.code === code);
  const type = claim.type;
  const json = { 'content-type': 'application/fhir+json' };
  const invalid = (id?: string) => JSON.stringify({ resourceType: type, ...(id ? { id } : {}), colour: 'blue' });
  const send: Record<(typeof TYPE_INTERACTIONS)[number], () => Promise<RawAnswer>> = {
    read: () => user.raw('GET', `${type}/${MISSING}`),
    vread: () => user.raw('GET', `${type}/${MISSING}/_history/1`),
    update: () => user.raw('PUT', `${type}/${MISSING}`, { body: invalid(MISSING), headers: json }),
    patch: () => user.raw('PATCH', `${type}/${MISSING}`, { body: '[]', headers: { 'content-type': 'application/json-patch+json' } }),
    delete: () => user.raw('DELETE', `${type}/${MISSING}`),
    'history-instance': () => user.raw('GET', `${type}/${MISSING}/_history`),
    'history-type': () => user.raw('GET', `${type}/_history`),
    // Binary takes raw content; every other type gets a body its validator refuses
    create: () => (type === 'Binary' ? user.raw('POST', type, { body: 'probe', headers: { 'content-type': 'text/plain' } }) : user.raw('POST', type, { body: invalid(), headers: json })),
    'search-type': () => user.raw('GET', `${type}?_count=1`),
  };
  const problems: string[] = [];
  for (const code of TYPE_INTERACTIONS) {
    const answer = await send[code]();
    const issueCode = (answer.json?.issue as { code?: string }[] | undefined)?.[0]?.code;
    const refused = answer.status === 405 || issueCode === 'not-supported';
    if (answer.status >= 500) problems.push(`${type} ${code}: ${answer.status}`);
    else if (tool(code) && refused) problems.push(`${type} lists ${code} but the server refuses it (${answer.status} ${issueCode})`);
    else if (!tool(code) && answer.status < 400) problems.push(`${type} does not list ${code} but the server serves it (${answer.status})`);
    if (answer.status >= 400 && answer.json?.resourceType !== 'OperationOutcome') problems.push(`${type} ${code}: ${answer.status} without an OperationOutcome`);
  }
  return problems;
}

/** Sample values by search parameter type: well-formed, so only an unknown parameter can be refused. */
const SAMPLE: Record<string, string> = { reference: 'Patient/conformance-missing', token: 'conformance', date: 'ge2020-01-01', string: 'conformance', number: '1', uri: 'http://example.org/conformance' };

/**
 * Every listed search parameter is accepted under `Prefer: handling=strict` (which refuses unknown ones),
 * names its type correctly enough to take a value of that type, and, when it has a definition, names one
 * of our SearchParameters for that code and type. Listed `_include`/`_revinclude` values are accepted and
 * others refused.
 */
export async function probeSearch(user: FhirUser, claim: ResourceClaim): Promise<string[]> {
  if (!(claim.interaction ?? []).some((i) => i.code === 'search-type')) return [];
  const type = claim.type;
  const strict = { prefer: 'handling=strict' };
  const problems: string[] = [];
  for (const param of claim.searchParam ?? []) {
    const sample = SAMPLE[param.type];
    if (!sample) {
      problems.push(`${type}?${param.name}: no sample for search parameter type ${param.type}`);
      continue;
    }
    const answer = await user.raw('GET', `${type}?${param.name}=${encodeURIComponent(sample)}`, { headers: strict });
    if (answer.status !== 200 || answer.json?.type !== 'searchset') problems.push(`${type}?${param.name}=${sample} under handling=strict: ${answer.status} ${answerText(answer)}`);
    if (param.definition) {
      const sp = conformanceResource(param.definition);
      if (sp?.resourceType !== 'SearchParameter' || sp.code !== param.name || sp.type !== param.type || !(sp.base ?? []).includes(type as never)) {
        problems.push(`${type}?${param.name}: definition ${param.definition} is not a ${param.type} SearchParameter "${param.name}" on ${type}`);
      }
    }
  }
  const unknown = await user.raw('GET', `${type}?conformance-unknown=1`, { headers: strict });
  if (unknown.status !== 400) problems.push(`${type}: an unknown search parameter under handling=strict answered ${unknown.status}, not 400`);
  const lenient = await user.raw('GET', `${type}?conformance-unknown=1`);
  const warned = ((lenient.json?.entry as { search?: { mode?: string } }[] | undefined) ?? []).some((e) => e.search?.mode === 'outcome');
  if (lenient.status !== 200 || !warned) problems.push(`${type}: an unknown search parameter without strict handling should be ignored with a warning outcome (${lenient.status})`);

  for (const [kind, listed] of [['_include', claim.searchInclude ?? []], ['_revinclude', claim.searchRevInclude ?? []]] as const) {
    for (const spec of listed) {
      const answer = await user.raw('GET', `${type}?${kind}=${encodeURIComponent(spec)}&_count=1`);
      if (answer.status !== 200) problems.push(`${type}?${kind}=${spec} is listed but answered ${answer.status} ${answerText(answer)}`);
    }
    const other = await user.raw('GET', `${type}?${kind}=${encodeURIComponent(`${type}:conformance-unknown`)}`);
    if (other.status !== 400) problems.push(`${type}?${kind}=${type}:conformance-unknown is not listed but answered ${other.status}`);
  }
  return problems;
}

/** Listed operations are served, profiles named are ours and constrain the type, unlisted operations are refused. */
export async function probeOperationsAndProfiles(user: FhirUser, claim: ResourceClaim): Promise<string[]> {
  const type = claim.type;
  const problems: string[] = [];
  const json = { 'content-type': 'application/fhir+json' };
  const unlisted = await user.raw('POST', `${type}/$conformance-unknown`, { body: '{"resourceType":"Parameters"}', headers: json });
  if (unlisted.status < 400 || unlisted.status >= 500) problems.push(`${type}/$conformance-unknown answered ${unlisted.status}`);
  const unknownInstance = await user.raw('POST', `${type}/conformance-probe/$conformance-unknown`, { body: '{"resourceType":"Parameters"}', headers: json });
  const unknownAnswer = (a: RawAnswer, name: string) => a.status === unlisted.status && answerText(a).replaceAll(name, 'conformance-unknown') === answerText(unlisted);
  const unknownInstanceAnswer = (a: RawAnswer, name: string) => a.status === unknownInstance.status && answerText(a).replaceAll(name, 'conformance-unknown') === answerText(unknownInstance);
  for (const op of claim.operation ?? []) {
    if (op.name === 'validate') {
      const answer = await user.raw('POST', `${type}/$${op.name}`, { body: JSON.stringify({ resourceType: type }), headers: json });
      if (answer.status !== 200) problems.push(`${type}/$${op.name} is listed but answered ${answer.status} ${answerText(answer)}`);
      continue;
    }
    // the OperationDefinition it names is ours, for this operation on this type
    const definition = op.definition === undefined ? undefined : conformanceResource(op.definition);
    if (definition?.resourceType !== 'OperationDefinition' || definition.code !== op.name || !(definition.resource ?? []).includes(type as never)) {
      problems.push(`${type}/$${op.name}: definition ${op.definition} is not one of our OperationDefinitions for ${type}`);
      continue;
    }
    // an operation that needs its parameters (or an instance) answers empty input with its own 4xx, not "unknown
    // operation", at each level its definition declares, and like an unknown operation at the others
    const onType = await user.raw('POST', `${type}/$${op.name}`, { body: '{"resourceType":"Parameters"}', headers: json });
    const onInstance = await user.raw('POST', `${type}/conformance-probe/$${op.name}`, { body: '{"resourceType":"Parameters"}', headers: json });
    if (onType.status >= 500 || onInstance.status >= 500) problems.push(`${type}/$${op.name} answered ${onType.status}/${onInstance.status}`);
    if (unknownAnswer(onType, op.name) === definition.type) problems.push(`${type}/$${op.name}: its definition says type ${definition.type}, the server answers ${onType.status} ${answerText(onType)}`);
    if (unknownInstanceAnswer(onInstance, op.name) === definition.instance) problems.push(`${type}/<id>/$${op.name}: its definition says instance ${definition.instance}, the server answers ${onInstance.status} ${answerText(onInstance)}`);
  }
  for (const url of claim.supportedProfile ?? []) {
    const sd = structureDefinition(url);
    if (!sd || sd.type !== type) problems.push(`${type}: supportedProfile ${url} is not one of our StructureDefinitions for ${type}`);
  }
  return problems;
}

/** System-level interactions: the listed ones are served, the others refused. */
export async function probeSystem(user: FhirUser, statement: Resource): Promise<string[]> {
  const listed = ((statement.rest as { interaction?: { code: string }[] }[])[0].interaction ?? []).map((i) => i.code);
  const problems: string[] = [];
  const bundle = (type: string) => user.raw('POST', '', { body: JSON.stringify({ resourceType: 'Bundle', type, entry: [] }), headers: { 'content-type': 'application/fhir+json' } });
  const checks: Record<string, () => Promise<RawAnswer>> = {
    batch: () => bundle('batch'),
    transaction: () => bundle('transaction'),
    'search-system': () => user.raw('GET', '?_count=1'),
    'history-system': () => user.raw('GET', '_history'),
  };
  for (const [code, send] of Object.entries(checks)) {
    const answer = await send();
    if (listed.includes(code) && answer.status !== 200) problems.push(`system ${code} is listed but answered ${answer.status}`);
    if (!listed.includes(code) && (answer.status < 400 || answer.status >= 500)) problems.push(`system ${code} is not listed but answered ${answer.status}`);
  }
  const unknownType = await user.raw('GET', 'Observation?_count=1');
  if (unknownType.status !== 404) problems.push(`an unlisted type (Observation) answered ${unknownType.status}`);
  // operations on the base: each names one of our system-level OperationDefinitions and answers the admin with
  // Parameters holding every output its definition requires
  const operations = (statement.rest as { operation?: { name: string; definition?: string }[] }[])[0].operation ?? [];
  for (const op of operations) {
    const definition = op.definition === undefined ? undefined : conformanceResource(op.definition);
    if (definition?.resourceType !== 'OperationDefinition' || definition.code !== op.name || !definition.system) {
      problems.push(`system $${op.name}: definition ${op.definition} is not one of our system-level OperationDefinitions`);
      continue;
    }
    const answer = await user.raw(definition.affectsState ? 'POST' : 'GET', `$${op.name}`);
    const returned = new Set(((answer.json?.parameter as { name: string }[] | undefined) ?? []).map((p) => p.name));
    const missing = (definition.parameter ?? []).filter((p) => p.use === 'out' && p.min > 0 && !returned.has(p.name)).map((p) => p.name);
    if (answer.status !== 200 || answer.json?.resourceType !== 'Parameters' || missing.length > 0) problems.push(`system $${op.name} answered ${answer.status}, missing ${missing.join(', ')}: ${answerText(answer)}`);
  }
  return problems;
}

function answerText(answer: RawAnswer): string {
  return answer.bytes.toString('utf8').slice(0, 200);
}
