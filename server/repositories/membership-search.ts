import { badRequest } from '../fhir/outcome.js';
import type { SearchParam } from '../fhir/search/request.js';
import { clauseOf } from './sql-clause.js';
import { anyOf, dateOnInstant, dateOnPeriod, type SqlWhere } from './sql-search.js';
import { PSEUDONYM_SYSTEM, type IndexedParam, type MembershipTypeConfig } from './membership-types.js';

/**
 * Search conditions over the candidate rows `r` (id, last_updated, pseudonym) of one membership type,
 * answered from the resource_search index (migration 004).
 */
export function addMembershipCondition(where: SqlWhere, config: MembershipTypeConfig, param: SearchParam, baseUrl: string): void {
  if (param.name === '_id') {
    if (param.modifier) throw badRequest(`modifier :${param.modifier} is not supported on _id`);
    return anyOf(where, param, (v) => `r.id = ${where.param(v)}`);
  }
  if (param.name === '_lastUpdated') {
    if (param.modifier) throw badRequest(`modifier :${param.modifier} is not supported on _lastUpdated`);
    return where.add(clauseOf(where, (scratch) => dateOnInstant(scratch, param, 'r.last_updated')));
  }
  const def = config.params.find((p) => p.name === param.name);
  if (!def) throw badRequest(`search parameter ${param.name} is not supported on ${config.resourceType}`);
  // called only where the SQL uses it: a parameter the statement does not use has no type and is an error
  const rowsOf = (rows: string[]) => `s.resource_type = ${where.param(config.resourceType)} AND s.id = r.id AND s.param IN (${rows.map((row) => where.param(row)).join(', ')})`;
  const rows = def.kind === 'string' ? def.rows : [def.row];

  if (param.modifier === 'missing') {
    if (param.values.length !== 1 || !['true', 'false'].includes(param.values[0])) throw badRequest(`${param.name}:missing takes true or false`);
    const exists = `EXISTS (SELECT 1 FROM resource_search s WHERE ${rowsOf(rows)})`;
    return where.add(param.values[0] === 'true' ? `NOT ${exists}` : exists);
  }
  const allowed = def.kind === 'string' ? ['exact', 'contains'] : def.kind === 'token' ? ['not'] : [];
  if (param.modifier && !allowed.includes(param.modifier)) throw badRequest(`modifier :${param.modifier} is not supported on ${param.name}`);

  switch (def.kind) {
    case 'string':
      return anyOf(where, param, (v) => {
        const match =
          param.modifier === 'exact'
            ? `s.value = ${where.param(v)}`
            : `s.norm LIKE ${param.modifier === 'contains' ? `'%' || ` : ''}consentry_fold(${where.param(escapeLike(v))}) || '%' ESCAPE '\\'`;
        return `EXISTS (SELECT 1 FROM resource_search s WHERE ${rowsOf(rows)} AND ${match})`;
      });
    case 'token': {
      const one = (v: string) => tokenMatch(where, def, v, () => rowsOf(rows));
      if (param.modifier === 'not') {
        if (param.values.length === 0) throw badRequest(`search parameter ${param.name} has no value`);
        return where.add(`NOT (${param.values.map(one).join(' OR ')})`);
      }
      return anyOf(where, param, one);
    }
    case 'date': {
      const range = clauseOf(where, (scratch) => dateOnPeriod(scratch, param, 's.low', 's.high'));
      return where.add(`EXISTS (SELECT 1 FROM resource_search s WHERE ${rowsOf(rows)} AND ${range})`);
    }
    case 'reference':
      return anyOf(where, param, (v) => {
        const forms = referenceForms(v, def.target, baseUrl);
        if (!forms) return 'FALSE';
        return `EXISTS (SELECT 1 FROM resource_search s WHERE ${rowsOf(rows)} AND s.value IN (${forms.map((f) => where.param(f)).join(', ')}))`;
      });
  }
}

function tokenMatch(where: SqlWhere, def: Extract<IndexedParam, { kind: 'token' }>, raw: string, owner: () => string): string {
  const bar = raw.indexOf('|');
  const system = bar < 0 ? undefined : raw.slice(0, bar);
  const code = bar < 0 ? raw : raw.slice(bar + 1);
  if (def.name === 'identifier' && system === PSEUDONYM_SYSTEM) return code ? `r.pseudonym = ${where.param(code)}` : 'r.pseudonym IS NOT NULL';
  if (def.systems) {
    // coded elements (gender, active) carry no system in the resource; only their own system may be named
    if (system !== undefined && system !== '' && !def.systems.includes(system)) return 'FALSE';
    return `EXISTS (SELECT 1 FROM resource_search s WHERE ${owner()} AND s.value = ${where.param(code)})`;
  }
  const conditions: string[] = [owner()];
  if (system === '') conditions.push('s.system IS NULL');
  else if (system !== undefined) conditions.push(`s.system = ${where.param(system)}`);
  if (code !== '') conditions.push(`s.value = ${where.param(code)}`);
  if (conditions.length === 1) throw badRequest(`"${raw}" names neither a system nor a value`);
  return `EXISTS (SELECT 1 FROM resource_search s WHERE ${conditions.join(' AND ')})`;
}

/** The ways a stored reference to the same resource may be written: relative and absolute below our base. */
export function referenceForms(value: string, target: string, baseUrl: string): string[] | undefined {
  let relative = value;
  if (relative.startsWith(`${baseUrl}/`)) relative = relative.slice(baseUrl.length + 1);
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(relative)) relative = `${target}/${relative}`;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(relative);
  if (!m || m[1] !== target) return undefined;
  return [relative, `${baseUrl}/${relative}`];
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** ORDER BY expression for a sortable parameter of this type. */
export function sortColumns(config: MembershipTypeConfig): Record<string, string> {
  const columns: Record<string, string> = { _lastUpdated: 'r.last_updated' };
  for (const [name, sort] of Object.entries(config.sorts)) {
    // identifiers come from the config, not from the request
    columns[name] = `(SELECT min(s.${sort.column}) FROM resource_search s WHERE s.resource_type = '${config.resourceType}' AND s.id = r.id AND s.param = '${sort.row}')`;
  }
  return columns;
}
