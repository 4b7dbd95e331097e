// Unpacking and validating a signed proposal the way a Fabric peer does (core/endorser/msgvalidation.go):
// every nested message decoded strictly, header type/epoch/nonce/creator checked, the tx id recomputed,
// the creator validated against the organization MSPs and its signature over the proposal bytes verified.
import crypto from 'node:crypto';
import { common, msp as mspProtos } from '@hyperledger/fabric-protos';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import { MspError } from '../msp/msp.js';
import {
  decodeChannelHeader,
  decodeHeaderExtensionChaincode,
  decodeInvocationSpec,
  decodePair,
  decodeProposalPayload,
  type SignedProposalParts,
} from './messages.js';

export class ProposalError extends Error {}

export interface UnpackedProposal {
  proposalBytes: Uint8Array;
  signature: Uint8Array;
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  /** common.HeaderType */
  headerType: number;
  epoch: number;
  channelId: string;
  txId: string;
  creator: Uint8Array;
  nonce: Uint8Array;
  /** the chaincode named by the invocation spec (what the gateway routes on) */
  chaincodeName: string;
  /** ChaincodeInput args: function name then arguments */
  args: Uint8Array[];
  /** the proposal payload without its transient map: what goes into the transaction */
  payloadNoTransient: Uint8Array;
  /** bytes of arguments plus transient data, for the size limit */
  inputBytes: number;
  /** sha256(channel header ‖ signature header ‖ payload without transient), as Fabric's ProposalHash */
  proposalHash: Buffer;
}

/** ChaincodeProposalPayload{input} re-encoded without the transient map (proto3: empty input is omitted). */
function payloadWithoutTransient(input: Uint8Array): Buffer {
  if (input.length === 0) return Buffer.alloc(0);
  const len: number[] = [];
  for (let n = input.length; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n % 128) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), input]);
}

export function unpackProposal(signed: SignedProposalParts | undefined): UnpackedProposal {
  if (!signed || signed.proposalBytes.length === 0) throw new ProposalError('a signed proposal is required');
  const [headerBytes, payloadBytes] = decodePair(signed.proposalBytes, 'Proposal');
  const [channelHeaderBytes, signatureHeaderBytes] = decodePair(headerBytes, 'Header');
  const channelHeader = decodeChannelHeader(channelHeaderBytes);
  const [creator, nonce] = decodePair(signatureHeaderBytes, 'SignatureHeader');
  const extensionChaincode = decodeHeaderExtensionChaincode(channelHeader.extension);
  const payload = decodeProposalPayload(payloadBytes);
  const spec = decodeInvocationSpec(payload.input);

  const channelId = channelHeader.channelId;
  if (!channelId) throw new ProposalError('no channel id provided');
  if (!spec.hasSpec) throw new ProposalError(`no chaincode spec is provided, channel id [${channelId}]`);
  if (spec.chaincodeName === undefined) throw new ProposalError(`no chaincode id is provided, channel id [${channelId}]`);
  if (!spec.chaincodeName) throw new ProposalError(`no chaincode name is provided, channel id [${channelId}]`);
  if (extensionChaincode === undefined) throw new ProposalError('ChaincodeHeaderExtension.ChaincodeId is nil');
  if (!extensionChaincode) throw new ProposalError('ChaincodeHeaderExtension.ChaincodeId.Name is empty');
  if (!spec.args) throw new ProposalError('chaincode input did not contain any input');

  let inputBytes = payload.transientBytes;
  for (const arg of spec.args) inputBytes += arg.length;
  const payloadNoTransient = payloadWithoutTransient(payload.input);

  return {
    proposalBytes: signed.proposalBytes,
    signature: signed.signature,
    channelHeaderBytes,
    signatureHeaderBytes,
    headerType: channelHeader.type,
    epoch: channelHeader.epoch,
    channelId,
    txId: channelHeader.txId,
    creator,
    nonce,
    chaincodeName: spec.chaincodeName,
    args: spec.args,
    payloadNoTransient,
    inputBytes,
    proposalHash: sha256(channelHeaderBytes, signatureHeaderBytes, payloadNoTransient),
  };
}

/**
 * SHA-256 of the concatenated parts. One-shot crypto.hash over a joined copy costs about half of a
 * createHash/update/digest sequence for the ~1 KB headers hashed on every transaction.
 */
export function sha256(...parts: Uint8Array[]): Buffer {
  return crypto.hash('sha256', parts.length === 1 ? parts[0] : Buffer.concat(parts), 'buffer');
}

export function computeTxId(nonce: Uint8Array, creator: Uint8Array): string {
  return crypto.hash('sha256', Buffer.concat([nonce, creator]), 'hex');
}

/** Resolves the creator or throws the peer's "access denied" error, with the underlying reason appended. */
export function authenticate(msp: MspRegistry, channelId: string, creator: Uint8Array): ValidatedIdentity {
  try {
    return msp.validate(creator);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof MspError && (err.reason === 'unknown-msp' || err.reason === 'malformed')) {
      throw new ProposalError(`access denied: channel [${channelId}] creator org unknown, creator is malformed (${reason})`);
    }
    const mspId = mspIdOf(creator);
    throw new ProposalError(`access denied: channel [${channelId}] creator org [${mspId}] (${reason})`);
  }
}

function mspIdOf(creator: Uint8Array): string {
  try {
    return mspProtos.SerializedIdentity.deserializeBinary(creator).getMspid() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * UnpackedProposal.Validate: the checks a Fabric endorser makes before simulating. The signature is verified
 * on the thread pool; a bad one rejects with the ProposalError Fabric words.
 */
export async function validateProposal(up: UnpackedProposal, msp: MspRegistry): Promise<ValidatedIdentity> {
  if (up.headerType !== common.HeaderType.ENDORSER_TRANSACTION) throw new ProposalError(`invalid header type ${headerTypeName(up.headerType)}`);
  if (up.epoch !== 0) throw new ProposalError('epoch is non-zero');
  if (up.nonce.length === 0) throw new ProposalError('nonce is empty');
  if (up.creator.length === 0) throw new ProposalError('creator is empty');
  const expected = computeTxId(up.nonce, up.creator);
  if (up.txId !== expected) throw new ProposalError(`incorrectly computed txid '${up.txId}' -- expected '${expected}'`);
  if (up.signature.length === 0) throw new ProposalError('empty signature bytes');
  const identity = authenticate(msp, up.channelId, up.creator);
  if (!(await msp.verifyAsync(identity, up.proposalBytes, up.signature))) {
    throw new ProposalError(
      `access denied: channel [${up.channelId}] creator org [${identity.mspId}] (the creator's signature over the proposal is not valid)`,
    );
  }
  return identity;
}

function headerTypeName(type: number): string {
  const entry = Object.entries(common.HeaderType).find(([, v]) => v === type);
  return entry ? entry[0] : String(type);
}
