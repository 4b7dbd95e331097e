// The prepared transaction the gateway returns from Endorse, built as Fabric's gateway prepareTransaction
// (protoutil.CreateTx) does: the proposal's header, one action whose header is the signature header and
// whose payload carries the proposal payload without transient data and the endorsed action.
import type { peer } from '@hyperledger/fabric-protos';
import { bytesField, encode, fields, type Node } from './protoenc.js';

export interface TransactionParts {
  channelHeaderBytes: Uint8Array;
  signatureHeaderBytes: Uint8Array;
  payloadNoTransient: Uint8Array;
}

/** The serialized, unsigned common.Envelope of the transaction. */
export function prepareTransaction(parts: TransactionParts, prpBytes: Uint8Array, endorsements: peer.Endorsement[]): Buffer {
  return encode(preparedTransactionFields(parts, prpBytes, endorsements));
}

/** prepareTransaction's envelope as fields, to embed in a response without encoding it twice. */
export function preparedTransactionFields(parts: TransactionParts, prpBytes: Uint8Array, endorsements: peer.Endorsement[]): Node {
  // ChaincodeEndorsedAction{proposal_response_payload, repeated endorsements{endorser, signature}}
  const endorsed = fields(
    bytesField(1, prpBytes),
    ...endorsements.map((e) => bytesField(2, fields(bytesField(1, e.getEndorser_asU8()), bytesField(2, e.getSignature_asU8())))),
  );
  // ChaincodeActionPayload{chaincode_proposal_payload, action}
  const actionPayload = fields(bytesField(1, parts.payloadNoTransient), bytesField(2, endorsed));
  // Transaction{actions: [TransactionAction{header, payload}]}
  const tx = fields(bytesField(1, fields(bytesField(1, parts.signatureHeaderBytes), bytesField(2, actionPayload))));
  // Payload{header: Header{channel_header, signature_header}, data}
  const header = fields(bytesField(1, parts.channelHeaderBytes), bytesField(2, parts.signatureHeaderBytes));
  const payload = fields(bytesField(1, header), bytesField(2, tx));
  // Envelope{payload} (the client signs it)
  return fields(bytesField(1, payload));
}
