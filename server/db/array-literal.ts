/**
 * A PostgreSQL array literal of text elements, for passing ragged text[] values through unnest() as one text
 * element per row (unnest cannot take an array of arrays of different lengths); read back with `::text[]`, the
 * same array input function a text[] parameter goes through.
 */
export const arrayLiteral = (v: readonly unknown[] | null | undefined): string | null =>
  v === undefined || v === null ? null : `{${v.map((e) => (e === null || e === undefined ? 'NULL' : `"${String(e).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
