import type { LedgerUser } from '../ledger/identity.js';

export type Role = 'patient' | 'practitioner' | 'admin';

/** The authenticated user behind a request, as the hospital knows them. */
export interface Caller {
  username: string;
  role: Role;
  /** FHIR reference at this hospital, e.g. `Practitioner/ryu`, `Patient/p1` */
  fhirUser: string;
  mspId: string;
  /** who the ledger knows: `${msp}/Practitioner/<id>` for practitioners, the pseudonym for patients */
  ledgerId: string;
  /** the ledger identity the server signs with when acting for this user */
  ledgerUser: LedgerUser;
  pseudonym?: string;
  scopes: string[];
}

export interface RequestContext {
  caller: Caller;
  /** e.g. http://localhost:8080/fhir */
  baseUrl: string;
  mspId: string;
  now: Date;
  /** `Prefer: handling=strict` */
  strict: boolean;
  /** the replica height decisions were made at; sent as X-Ledger-Height */
  ledgerHeight?: number;
}
