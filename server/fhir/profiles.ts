import { PROFILE } from '../../profiles/index.js';

/** The profile each constrained resource type is validated against. */
export const PROFILE_OF_TYPE: Record<string, string | undefined> = {
  Consent: PROFILE.consent,
  DocumentReference: PROFILE.documentReference,
};
