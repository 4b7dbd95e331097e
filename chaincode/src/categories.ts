// Document categories (CodeSystem in profiles/). "*" in a permission covers all but patient-private.

export const CATEGORIES = [
  'history-physical',
  'lab-results',
  'radiation-dose',
  'imaging',
  'treatment-plan',
  'patient-private',
] as const;

export type Category = (typeof CATEGORIES)[number];

export const ALL_CATEGORIES = '*';
export const PATIENT_PRIVATE: Category = 'patient-private';

export function isCategory(code: unknown): code is Category {
  return typeof code === 'string' && (CATEGORIES as readonly string[]).includes(code);
}

/** Whether a permission's category list covers one concrete category. */
export function coversCategory(granted: readonly string[], category: string): boolean {
  if (granted.includes(category)) return true;
  return category !== PATIENT_PRIVATE && granted.includes(ALL_CATEGORIES);
}
