// This peer's endorsing identities (one per organization) and a bounded memory of the endorsements it
// issued, so Submit can recognise its own endorsements without another signature verification.
import type { peer } from '@hyperledger/fabric-protos';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import { endorse } from '../runtime/endorser.js';
import type { Signer } from '../runtime/signer.js';
import type { Endorsers } from './envelope.js';

/**
 * Endorsements awaiting their Submit that are remembered (oldest dropped first): a client submits within
 * moments of its endorsement, and one submitted later is verified like any other. An entry holds its
 * proposal response payload (a few KB) until the Submit that uses it.
 */
const REMEMBERED = 4_096;

function key(bytes: Uint8Array): string {
  return view(bytes).toString('base64');
}

/** A Buffer over the same memory (no copy). */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What this peer signed for a transaction: the exact payload and each org's signature over it. */
interface Issued {
  prp: Buffer;
  endorsements: { identity: Buffer; signature: Buffer }[];
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
    const signers = orgs.map((org) => {
      const signer = this.signers.get(org);
      if (!signer) throw new Error(`no endorser for ${org}`);
      return signer;
    });
    const endorsements = await Promise.all(signers.map((signer) => endorse(prpBytes, signer)));
    if (this.issuedByTx.size >= REMEMBERED) {
      const oldest = this.issuedByTx.keys().next().value;
      if (oldest !== undefined) this.issuedByTx.delete(oldest);
    }
    this.issuedByTx.set(txId, {
      prp: view(prpBytes),
      endorsements: endorsements.map((e, i) => ({ identity: view(signers[i].identity), signature: view(e.getSignature_asU8()) })),
    });
    return endorsements;
  }

  /**
   * True when this peer signed exactly `prpBytes` as `endorser` for `txId`, producing `signature`. A match
   * is used up: the same endorsement submitted again is verified like any other.
   */
  issued(txId: string, prpBytes: Uint8Array, endorser: Uint8Array, signature: Uint8Array): boolean {
    const issued = this.issuedByTx.get(txId);
    if (!issued || !issued.prp.equals(prpBytes)) return false;
    const i = issued.endorsements.findIndex((e) => e.signature.equals(signature) && e.identity.equals(endorser));
    if (i < 0) return false;
    issued.endorsements.splice(i, 1);
    if (issued.endorsements.length === 0) this.issuedByTx.delete(txId);
    return true;
  }
}
