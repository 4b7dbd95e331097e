// Zero-copy decoders for the messages on the transaction hot path (Evaluate/Endorse requests and their
// proposal, Submit's envelope, CommitStatus). They read only the fields the peer uses, returning views
// into the request bytes instead of google-protobuf object graphs. Field numbers are those of the
// .proto files in @hyperledger/fabric-protos (gateway, peer, common).
import { WIRE_LEN, WIRE_VARINT, WireError, WireReader } from '../ledger/protowire.js';
import { DecodeError } from './decode.js';

/** A response already in wire format (what the service's serializer asks of a message). */
export class Encoded {
  constructor(private readonly bytes: Uint8Array) {}

  serializeBinary(): Uint8Array {
    return this.bytes;
  }
}

type Fields = (r: WireReader, field: number, wire: number) => boolean;

/** Walks one message; `onField` returns false for fields it does not use, which are skipped. */
function walk(bytes: Uint8Array, name: string, onField: Fields): void {
  try {
    const r = WireReader.of(bytes);
    while (r.more()) {
      const tag = r.tag();
      if (!onField(r, tag >>> 3, tag & 7)) r.skip(tag);
    }
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new DecodeError(`error unmarshalling ${name}: proto: cannot parse invalid wire-format data (${why})`);
  }
}

function want(wire: number, expected: number, field: number): void {
  if (wire !== expected) throw new WireError(`field ${field} has wire type ${wire}, expected ${expected}`);
}

const bytesField = (r: WireReader, field: number, wire: number): Buffer => {
  want(wire, WIRE_LEN, field);
  return r.bytes();
};

const stringField = (r: WireReader, field: number, wire: number): string => {
  want(wire, WIRE_LEN, field);
  return r.string();
};

const EMPTY: Buffer = Buffer.alloc(0);

export interface SignedProposalParts {
  proposalBytes: Buffer;
  signature: Buffer;
}

export interface ProposalRequest {
  transactionId: string;
  channelId: string;
  proposal?: SignedProposalParts;
  /** endorsing_organizations (Endorse) or target_organizations (Evaluate) */
  organizations: string[];
}

/** gateway.EvaluateRequest and gateway.EndorseRequest share their field layout. */
export function decodeProposalRequest(bytes: Uint8Array, name: string): ProposalRequest {
  const out: ProposalRequest = { transactionId: '', channelId: '', organizations: [] };
  walk(bytes, name, (r, field, wire) => {
    if (field === 1) out.transactionId = stringField(r, field, wire);
    else if (field === 2) out.channelId = stringField(r, field, wire);
    else if (field === 3) out.proposal = decodeSignedProposal(bytesField(r, field, wire));
    else if (field === 4) out.organizations.push(stringField(r, field, wire));
    else return false;
    return true;
  });
  return out;
}

export function decodeSignedProposal(bytes: Uint8Array): SignedProposalParts {
  const out: SignedProposalParts = { proposalBytes: EMPTY, signature: EMPTY };
  walk(bytes, 'SignedProposal', (r, field, wire) => {
    if (field === 1) out.proposalBytes = bytesField(r, field, wire);
    else if (field === 2) out.signature = bytesField(r, field, wire);
    else return false;
    return true;
  });
  return out;
}

/** Two length-delimited fields 1 and 2: Proposal{header, payload}, Header{channel_header, signature_header}, Envelope{payload, signature}, SignatureHeader{creator, nonce}, Endorsement{endorser, signature}, ... */
export function decodePair(bytes: Uint8Array, name: string): [Buffer, Buffer] {
  let first = EMPTY;
  let second = EMPTY;
  walk(bytes, name, (r, field, wire) => {
    if (field === 1) first = bytesField(r, field, wire);
    else if (field === 2) second = bytesField(r, field, wire);
    else return false;
    return true;
  });
  return [first, second];
}

export interface ChannelHeaderFields {
  type: number;
  channelId: string;
  txId: string;
  epoch: number;
  extension: Buffer;
}

export function decodeChannelHeader(bytes: Uint8Array): ChannelHeaderFields {
  const out: ChannelHeaderFields = { type: 0, channelId: '', txId: '', epoch: 0, extension: EMPTY };
  walk(bytes, 'ChannelHeader', (r, field, wire) => {
    if (field === 1) {
      want(wire, WIRE_VARINT, field);
      out.type = r.int32();
    } else if (field === 4) out.channelId = stringField(r, field, wire);
    else if (field === 5) out.txId = stringField(r, field, wire);
    else if (field === 6) {
      want(wire, WIRE_VARINT, field);
      out.epoch = r.varint();
    } else if (field === 7) out.extension = bytesField(r, field, wire);
    else return false;
    return true;
  });
  return out;
}

/** peer.ChaincodeID.name inside a message whose field `field` is a ChaincodeID. */
function chaincodeNameAt(bytes: Uint8Array, name: string, field: number): string | undefined {
  let id: Buffer | undefined;
  walk(bytes, name, (r, f, wire) => {
    if (f !== field) return false;
    id = bytesField(r, f, wire);
    return true;
  });
  if (id === undefined) return undefined;
  let chaincodeName = '';
  walk(id, 'ChaincodeID', (r, f, wire) => {
    if (f !== 2) return false;
    chaincodeName = stringField(r, f, wire);
    return true;
  });
  return chaincodeName;
}

/** ChaincodeHeaderExtension.chaincode_id.name (field 2); undefined when there is no chaincode id. */
export function decodeHeaderExtensionChaincode(bytes: Uint8Array): string | undefined {
  return chaincodeNameAt(bytes, 'ChaincodeHeaderExtension', 2);
}

export interface ProposalPayload {
  input: Buffer;
  /** bytes of transient keys and values */
  transientBytes: number;
}

export function decodeProposalPayload(bytes: Uint8Array): ProposalPayload {
  const out: ProposalPayload = { input: EMPTY, transientBytes: 0 };
  walk(bytes, 'ChaincodeProposalPayload', (r, field, wire) => {
    if (field === 1) out.input = bytesField(r, field, wire);
    else if (field === 2) {
      const [key, value] = decodePair(bytesField(r, field, wire), 'ChaincodeProposalPayload.TransientMapEntry');
      out.transientBytes += key.length + value.length;
    } else return false;
    return true;
  });
  return out;
}

export interface InvocationSpec {
  hasSpec: boolean;
  chaincodeName?: string;
  /** undefined when the spec carries no ChaincodeInput */
  args?: Buffer[];
}

/** ChaincodeInvocationSpec{1 ChaincodeSpec{2 ChaincodeID, 3 ChaincodeInput{1 repeated args}}} */
export function decodeInvocationSpec(bytes: Uint8Array): InvocationSpec {
  let spec: Buffer | undefined;
  walk(bytes, 'ChaincodeInvocationSpec', (r, field, wire) => {
    if (field !== 1) return false;
    spec = bytesField(r, field, wire);
    return true;
  });
  if (spec === undefined) return { hasSpec: false };
  const out: InvocationSpec = { hasSpec: true };
  walk(spec, 'ChaincodeSpec', (r, field, wire) => {
    if (field === 2) {
      let name = '';
      walk(bytesField(r, field, wire), 'ChaincodeID', (r2, f2, w2) => {
        if (f2 !== 2) return false;
        name = stringField(r2, f2, w2);
        return true;
      });
      out.chaincodeName = name;
    } else if (field === 3) {
      const args: Buffer[] = [];
      walk(bytesField(r, field, wire), 'ChaincodeInput', (r2, f2, w2) => {
        if (f2 !== 1) return false;
        args.push(bytesField(r2, f2, w2));
        return true;
      });
      out.args = args;
    } else return false;
    return true;
  });
  return out;
}

export interface SubmitFields {
  transactionId: string;
  channelId: string;
  /** the serialized common.Envelope, as sent */
  envelope?: Buffer;
}

export function decodeSubmitRequest(bytes: Uint8Array): SubmitFields {
  const out: SubmitFields = { transactionId: '', channelId: '' };
  walk(bytes, 'SubmitRequest', (r, field, wire) => {
    if (field === 1) out.transactionId = stringField(r, field, wire);
    else if (field === 2) out.channelId = stringField(r, field, wire);
    else if (field === 3) out.envelope = bytesField(r, field, wire);
    else return false;
    return true;
  });
  return out;
}

/** peer.Transaction: its actions (repeated field 1). */
export function decodeTransactionActions(bytes: Uint8Array): Buffer[] {
  const actions: Buffer[] = [];
  walk(bytes, 'Transaction', (r, field, wire) => {
    if (field !== 1) return false;
    actions.push(bytesField(r, field, wire));
    return true;
  });
  return actions;
}

/** ChaincodeEndorsedAction{1 proposal_response_payload, 2 repeated endorsements}. */
export function decodeEndorsedAction(bytes: Uint8Array): { prp: Buffer; endorsements: Buffer[] } {
  let prp = EMPTY;
  const endorsements: Buffer[] = [];
  walk(bytes, 'ChaincodeEndorsedAction', (r, field, wire) => {
    if (field === 1) prp = bytesField(r, field, wire);
    else if (field === 2) endorsements.push(bytesField(r, field, wire));
    else return false;
    return true;
  });
  return { prp, endorsements };
}

/** ChaincodeAction.chaincode_id.name (field 4). */
export function decodeActionChaincode(bytes: Uint8Array): string | undefined {
  return chaincodeNameAt(bytes, 'ChaincodeAction', 4);
}

export interface CommitStatusFields {
  transactionId: string;
  channelId: string;
  identity: Buffer;
}

export function decodeCommitStatusRequest(bytes: Uint8Array, prefix: string): CommitStatusFields {
  const out: CommitStatusFields = { transactionId: '', channelId: '', identity: EMPTY };
  try {
    walk(bytes, 'CommitStatusRequest', (r, field, wire) => {
      if (field === 1) out.transactionId = stringField(r, field, wire);
      else if (field === 2) out.channelId = stringField(r, field, wire);
      else if (field === 3) out.identity = bytesField(r, field, wire);
      else return false;
      return true;
    });
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`${prefix}${err.message}`);
    throw err;
  }
  return out;
}

