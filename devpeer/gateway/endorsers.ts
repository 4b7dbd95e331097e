// This peer's endorsing identities (one per organization) and a bounded memory of the endorsements it
// issued, so Submit can recognise its own endorsements without another signature verification.
import crypto from 'node:crypto';
import type { peer } from '@hyperledger/fabric-protos';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import { endorse } from '../runtime/endorser.js';
import type { Signer } from '../runtime/signer.js';
import type { Endorsers } from './envelope.js';

const REMEMBERED = 20_000;

function pairKey(endorser: Uint8Array, signature: Uint8Array): string {
  return `${key(endorser)}:${key(signature)}`;
}

function key(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

export class PeerEndorsers implements Endorsers {
  private readonly byIdentity = new Map<string, ValidatedIdentity>();
  private readonly issuedByTx = new Map<string, { prpHash: string; signatures: Set<string> }>();

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
  endorse(txId: string, prpBytes: Uint8Array, orgs: string[]): peer.Endorsement[] {
    const endorsements = orgs.map((org) => {
      const signer = this.signers.get(org);
      if (!signer) throw new Error(`no endorser for ${org}`);
      return endorse(prpBytes, signer);
    });
    if (this.issuedByTx.size >= REMEMBERED) {
      const oldest = this.issuedByTx.keys().next().value;
      if (oldest !== undefined) this.issuedByTx.delete(oldest);
    }
    this.issuedByTx.set(txId, {
      prpHash: crypto.createHash('sha256').update(prpBytes).digest('base64'),
      signatures: new Set(endorsements.map((e) => pairKey(e.getEndorser_asU8(), e.getSignature_asU8()))),
    });
    return endorsements;
  }

  issued(txId: string, prpBytes: Uint8Array, endorser: Uint8Array, signature: Uint8Array): boolean {
    const issued = this.issuedByTx.get(txId);
    if (!issued || !issued.signatures.has(pairKey(endorser, signature))) return false;
    return issued.prpHash === crypto.createHash('sha256').update(prpBytes).digest('base64');
  }
}
