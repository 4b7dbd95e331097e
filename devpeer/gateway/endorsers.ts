// This peer's endorsing identities (one per organization) and a bounded memory of the endorsements it
// issued, so Submit can recognise its own endorsements without another signature verification.
import crypto from 'node:crypto';
import type { peer } from '@hyperledger/fabric-protos';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import { endorse } from '../runtime/endorser.js';
import type { Signer } from '../runtime/signer.js';
import type { Endorsers } from './envelope.js';

const REMEMBERED = 20_000;

function key(bytes: Uint8Array): string {
  return view(bytes).toString('base64');
}

/** A Buffer over the same memory (no copy). */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What this peer signed for a transaction, as strings (cheap to keep: no buffers for the GC to track). */
interface Issued {
  /** base64 sha256 of the proposal response payload that was signed */
  prpHash: string;
  endorsements: { signer: Signer; signature: string }[];
}

export class PeerEndorsers implements Endorsers {
  private readonly byIdentity = new Map<string, ValidatedIdentity>();
  private readonly issuedByTx = new Map<string, Issued>();

  constructor(
    readonly signers: Map<string, Signer>,
    msp: MspRegistry,
  ) {
    for (const signer of signers.values()) this.byIdentity.set(key(signer.identity), msp.validate(signer.identity));
  }

  orgs(): string[] {
    return [...this.signers.keys()];
  }

  endorser(serializedIdentity: Uint8Array): ValidatedIdentity | undefined {
    return this.byIdentity.get(key(serializedIdentity));
  }

  /** Signs the proposal response payload as each of `orgs` and remembers the result. */
  async endorse(txId: string, prpBytes: Uint8Array, orgs: string[]): Promise<peer.Endorsement[]> {
    const endorsements = await Promise.all(
      orgs.map((org) => {
        const signer = this.signers.get(org);
        if (!signer) throw new Error(`no endorser for ${org}`);
        return endorse(prpBytes, signer);
      }),
    );
    if (this.issuedByTx.size >= REMEMBERED) {
      const oldest = this.issuedByTx.keys().next().value;
      if (oldest !== undefined) this.issuedByTx.delete(oldest);
    }
    this.issuedByTx.set(txId, {
      prpHash: crypto.createHash('sha256').update(prpBytes).digest('base64'),
      endorsements: endorsements.map((e, i) => ({ signer: this.signers.get(orgs[i])!, signature: key(e.getSignature_asU8()) })),
    });
    return endorsements;
  }

  issued(txId: string, prpBytes: Uint8Array, endorser: Uint8Array, signature: Uint8Array): boolean {
    const issued = this.issuedByTx.get(txId);
    if (!issued) return false;
    const sig = key(signature);
    const match = issued.endorsements.some((e) => e.signature === sig && view(e.signer.identity).equals(endorser));
    return match && issued.prpHash === crypto.createHash('sha256').update(prpBytes).digest('base64');
  }
}
