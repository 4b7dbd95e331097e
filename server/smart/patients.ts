import type { Queryable } from '../db/database.js';

export interface PatientChoice {
  id: string;
  name: string;
}

interface Row {
  id: string;
  resource: { name?: { text?: string; given?: string[]; family?: string }[]; birthDate?: string } | null;
}

/** This hospital's patients (local Patient resources), for the EHR page and the practitioner's patient picker. */
export async function localPatients(db: Queryable, limit = 500): Promise<PatientChoice[]> {
  const { rows } = await db.query<Row>(`SELECT id, resource FROM resources WHERE resource_type = 'Patient' AND NOT deleted ORDER BY id LIMIT ${Math.floor(limit)}`);
  return rows.map((r) => ({ id: r.id, name: displayName(r) }));
}

export async function localPatient(db: Queryable, id: string): Promise<PatientChoice | undefined> {
  const { rows } = await db.query<Row>(`SELECT id, resource FROM resources WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted`, [id]);
  return rows[0] && { id: rows[0].id, name: displayName(rows[0]) };
}

function displayName(row: Row): string {
  const name = row.resource?.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
  const born = row.resource?.birthDate ? ` (born ${row.resource.birthDate})` : '';
  return `${text || `Patient/${row.id}`}${born}`;
}
