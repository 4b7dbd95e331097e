import { badRequest } from '../fhir/outcome.js';
import { parseDateParam, type SearchParam } from '../fhir/search/request.js';

/** Accumulates a parameterized WHERE clause. */
export class SqlWhere {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(clause: string): void {
    this.clauses.push(clause);
  }

  /** Adds a condition from a (sql, params) pair whose placeholders were numbered from `next()`. */
  addNumbered(build: (first: number) => { sql: string; params: unknown[] }): void {
    const { sql, params } = build(this.params.length + 1);
    this.params.push(...params);
    this.clauses.push(sql);
  }

  next(): number {
    return this.params.length + 1;
  }

  toSql(): string {
    return this.clauses.length ? this.clauses.join(' AND ') : 'TRUE';
  }
}

/** OR over a parameter's comma-separated values; each value becomes one SQL alternative. */
export function anyOf(where: SqlWhere, param: SearchParam, one: (value: string) => string): void {
  if (param.values.length === 0) throw badRequest(`search parameter ${param.name} has no value`);
  where.add(`(${param.values.map(one).join(' OR ')})`);
}

/** A date parameter against a single instant column (treated as the range [v, v]). Binds only what it uses. */
export function dateOnInstant(where: SqlWhere, param: SearchParam, column: string): void {
  anyOf(where, param, (raw) => {
    const v = parseDateParam(raw, param.name);
    const s = () => where.param(v.start.toISOString());
    const e = () => where.param(v.end.toISOString());
    switch (v.prefix) {
      case 'eq':
      case 'ap':
        return `(${column} >= ${s()} AND ${column} < ${e()})`;
      case 'ne':
        return `NOT (${column} >= ${s()} AND ${column} < ${e()})`;
      case 'gt':
      case 'sa':
        return `${column} >= ${e()}`;
      case 'lt':
      case 'eb':
        return `${column} < ${s()}`;
      case 'ge':
        return `${column} >= ${s()}`;
      case 'le':
        return `${column} < ${e()}`;
    }
  });
}

/** A date parameter against a period [fromColumn, toColumn). Binds only what it uses. */
export function dateOnPeriod(where: SqlWhere, param: SearchParam, fromColumn: string, toColumn: string): void {
  anyOf(where, param, (raw) => {
    const v = parseDateParam(raw, param.name);
    const s = () => where.param(v.start.toISOString());
    const e = () => where.param(v.end.toISOString());
    switch (v.prefix) {
      case 'eq':
        return `(${fromColumn} >= ${s()} AND ${toColumn} <= ${e()})`;
      case 'ne':
        return `NOT (${fromColumn} >= ${s()} AND ${toColumn} <= ${e()})`;
      case 'gt':
        return `${toColumn} > ${e()}`;
      case 'lt':
        return `${fromColumn} < ${s()}`;
      case 'ge':
        return `${toColumn} > ${s()}`;
      case 'le':
        return `${fromColumn} < ${e()}`;
      case 'sa':
        return `${fromColumn} >= ${e()}`;
      case 'eb':
        return `${toColumn} <= ${s()}`;
      case 'ap':
        return `(${fromColumn} < ${e()} AND ${toColumn} > ${s()})`;
    }
  });
}

/** `system|code`, `|code`, `code` → the code when the system is ours or absent, else null (no match). */
export function tokenCode(raw: string, systems: string[]): string | null {
  const bar = raw.indexOf('|');
  if (bar < 0) return raw;
  const system = raw.slice(0, bar);
  if (system !== '' && !systems.includes(system)) return null;
  return raw.slice(bar + 1);
}

export function orderBy(sort: { name: string; descending: boolean }[], columns: Record<string, string>, fallback: string): string {
  const parts = sort.map((s) => `${columns[s.name]} ${s.descending ? 'DESC' : 'ASC'}`);
  parts.push(fallback);
  return parts.join(', ');
}
