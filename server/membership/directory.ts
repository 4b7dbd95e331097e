/**
 * Where each hospital's FHIR API lives, so a grantee at another hospital can be named by an absolute
 * reference (http://hospital-b/fhir/Practitioner/lee). Configured with HOSPITALS='{"HospitalBMSP":"https://..."}'.
 */
export class HospitalDirectory {
  constructor(
    readonly self: { mspId: string; baseUrl: string },
    private readonly others: Record<string, string>,
  ) {}

  /** Learns (or corrects) another hospital's FHIR base. */
  add(mspId: string, baseUrl: string): void {
    this.others[mspId] = baseUrl;
  }

  baseUrlOf(mspId: string): string | undefined {
    return mspId === this.self.mspId ? this.self.baseUrl : this.others[mspId];
  }

  /** A FHIR reference for a practitioner's ledger id `${msp}/Practitioner/<id>` as seen from this hospital. */
  referenceForLedgerId(ledgerId: string): string {
    const [msp, ...rest] = ledgerId.split('/');
    const local = rest.join('/');
    if (msp === this.self.mspId) return local;
    const base = this.others[msp];
    return base ? `${base}/${local}` : local;
  }

  /** The ledger id a reference names: local `Practitioner/x`, or an absolute URL under a known hospital. */
  ledgerIdForReference(reference: string): string | undefined {
    const local = /^(Practitioner|Patient)\/([-A-Za-z0-9.]{1,64})$/.exec(reference);
    if (local) return `${this.self.mspId}/${reference}`;
    for (const [msp, base] of Object.entries({ ...this.others, [this.self.mspId]: this.self.baseUrl })) {
      if (reference.startsWith(`${base}/`)) {
        const rest = reference.slice(base.length + 1);
        if (/^(Practitioner|Patient)\/[-A-Za-z0-9.]{1,64}$/.test(rest)) return `${msp}/${rest}`;
      }
    }
    return undefined;
  }

  /** Every hospital's FHIR base by MSP id, this one included. */
  all(): Record<string, string> {
    return { ...this.others, [this.self.mspId]: this.self.baseUrl };
  }

  knownMsp(mspId: string): boolean {
    return mspId === this.self.mspId || mspId in this.others;
  }
}
