// What the ordering service and the committer's validator would reject in a submitted transaction,
// checked before it is queued: structure and channel (BAD_REQUEST), the creator and its signature over
// the payload (FORBIDDEN), and that the transaction is the one this peer endorsed: tx id derivation,
// proposal hash, chaincode and every endorsement signature (a Fabric committer would mark such a
// transaction ENDORSEMENT_POLICY_FAILURE; here it never enters a block).
import { common } from '@hyperledger/fabric-protos';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import { decodeActionChaincode, decodeChannelHeader, decodeEndorsedAction, decodePair, decodeTransactionActions } from './messages.js';
import { computeTxId, sha256 } from './proposal.js';

export type RejectStatus = 'BAD_REQUEST' | 'FORBIDDEN';

export class EnvelopeRejected extends Error {
  constructor(
    readonly status: RejectStatus,
    message: string,
  ) {
    super(message);
  }
}

export interface CheckedEnvelope {
  txId: string;
  creator: ValidatedIdentity;
}

export interface Endorsers {
  /** The validated identity of one of this peer's endorsers, by serialized identity bytes. */
  endorser(serializedIdentity: Uint8Array): ValidatedIdentity | undefined;
  /** True when this exact endorsement was produced by this peer for `txId` (skips re-verifying it). */
  issued(txId: string, prpBytes: Uint8Array, endorser: Uint8Array, signature: Uint8Array): boolean;
}

const bad = (message: string): EnvelopeRejected => new EnvelopeRejected('BAD_REQUEST', message);

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
}

/** `envelope` is the serialized common.Envelope exactly as submitted (and unchanged until this settles). */
export async function checkEnvelope(
  envelope: Uint8Array,
  opts: { channel: string; chaincode: string; maxBytes: number; msp: MspRegistry; endorsers: Endorsers },
): Promise<CheckedEnvelope> {
  if (envelope.length > opts.maxBytes) {
    throw bad(`message payload is ${envelope.length} bytes and exceeds maximum allowed ${opts.maxBytes} bytes`);
  }
  const [payloadBytes, signature] = parse(() => decodePair(envelope, 'Envelope'));
  const [headerBytes, data] = parse(() => decodePair(payloadBytes, 'Payload'));
  if (headerBytes.length === 0) throw bad('bad header: missing header');
  const [channelHeaderBytes, signatureHeaderBytes] = parse(() => decodePair(headerBytes, 'Header'));
  const channelHeader = parse(() => decodeChannelHeader(channelHeaderBytes));
  const [creatorBytes, nonce] = parse(() => decodePair(signatureHeaderBytes, 'SignatureHeader'));
  if (channelHeader.type !== common.HeaderType.ENDORSER_TRANSACTION) {
    throw bad(`unsupported header type ${channelHeader.type}; only endorser transactions are ordered on channel ${opts.channel}`);
  }
  if (channelHeader.channelId !== opts.channel) {
    throw bad(`transaction is for channel [${channelHeader.channelId}], not [${opts.channel}]`);
  }

  let creator: ValidatedIdentity;
  try {
    creator = opts.msp.validate(creatorBytes);
  } catch (err) {
    throw new EnvelopeRejected(
      'FORBIDDEN',
      `implicit policy evaluation failed - the creator is not a member of any organization of channel ${opts.channel} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (!(await opts.msp.verifyAsync(creator, payloadBytes, signature))) {
    throw new EnvelopeRejected('FORBIDDEN', `implicit policy evaluation failed - the creator's signature over the transaction envelope is not valid`);
  }

  const txId = channelHeader.txId;
  const expected = computeTxId(nonce, creatorBytes);
  if (txId !== expected) throw bad(`incorrectly computed txid '${txId}' -- expected '${expected}'`);

  const actions = parse(() => decodeTransactionActions(data));
  if (actions.length !== 1) throw bad(`only one action per transaction is supported, tx contains ${actions.length}`);
  const [actionHeader, actionPayload] = parse(() => decodePair(actions[0], 'TransactionAction'));
  if (!actionHeader.equals(signatureHeaderBytes)) {
    throw bad('the transaction action header differs from the transaction signature header');
  }
  const [proposalPayload, endorsedBytes] = parse(() => decodePair(actionPayload, 'ChaincodeActionPayload'));
  if (endorsedBytes.length === 0) throw bad('nil ChaincodeEndorsedAction');
  const { prp: prpBytes, endorsements } = parse(() => decodeEndorsedAction(endorsedBytes));
  const [proposalHash, extension] = parse(() => decodePair(prpBytes, 'ProposalResponsePayload'));
  const expectedHash = sha256(channelHeaderBytes, signatureHeaderBytes, proposalPayload);
  if (!expectedHash.equals(proposalHash)) {
    throw bad('the proposal hash in the endorsed response does not match the transaction header and proposal payload');
  }
  const chaincodeName = parse(() => decodeActionChaincode(extension)) ?? '';
  if (chaincodeName !== opts.chaincode) throw bad(`transaction invokes chaincode [${chaincodeName}], which is not defined on channel ${opts.channel}`);

  if (endorsements.length === 0) throw bad('endorsement policy failure: the transaction carries no endorsements');
  for (const endorsementBytes of endorsements) {
    const [endorserBytes, endorsementSignature] = parse(() => decodePair(endorsementBytes, 'Endorsement'));
    if (opts.endorsers.issued(txId, prpBytes, endorserBytes, endorsementSignature)) continue;
    const endorser = opts.endorsers.endorser(endorserBytes);
    if (!endorser || !(await opts.msp.verifyAsync(endorser, Buffer.concat([prpBytes, endorserBytes]), endorsementSignature))) {
      throw bad('endorsement policy failure: an endorsement is not a valid signature of a peer of this channel');
    }
  }
  return { txId, creator };
}
