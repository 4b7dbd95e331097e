import { SqlWhere } from './sql-search.js';

/**
 * Runs a condition builder (dateOnInstant, dateOnPeriod, ...) on a scratch SqlWhere and returns its
 * condition as a string renumbered into `where`, to be combined with other conditions (OR, NOT, ...).
 * Only parameters the condition references are bound: PostgreSQL refuses unreferenced ones.
 */
export function clauseOf(where: SqlWhere, build: (scratch: SqlWhere) => void): string {
  const scratch = new SqlWhere();
  build(scratch);
  return scratch.toSql().replace(/\$(\d+)/g, (_, n: string) => where.param(scratch.params[Number(n) - 1]));
}
