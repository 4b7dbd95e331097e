import { common, msp, peer } from '@hyperledger/fabric-protos';

const ENDORSER_TRANSACTION = common.HeaderType.ENDORSER_TRANSACTION;
const TRANSACTIONS_FILTER = common.BlockMetadataIndex.TRANSACTIONS_FILTER;

export interface BlockTransaction {
  index: number;
  txId: string;
  validationCode: number;
  creatorMsp: string;
  /** channel-header timestamp (the client's transaction time) */
  time: Date;
  event?: { chaincodeId: string; name: string; payload: Uint8Array };
}

export interface ParsedBlock {
  number: number;
  transactions: BlockTransaction[];
}

/** Reads the parts of a committed block the projection needs: tx ids, validation codes, chaincode events. */
export function parseBlock(block: common.Block): ParsedBlock {
  const header = block.getHeader();
  if (!header) throw new Error('block has no header');
  const number = header.getNumber();
  const filter = block.getMetadata()?.getMetadataList_asU8()[TRANSACTIONS_FILTER] ?? new Uint8Array();
  const transactions: BlockTransaction[] = [];
  const data = block.getData()?.getDataList_asU8() ?? [];
  data.forEach((envelopeBytes, index) => {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8());
    const payloadHeader = payload.getHeader();
    if (!payloadHeader) return;
    const channelHeader = common.ChannelHeader.deserializeBinary(payloadHeader.getChannelHeader_asU8());
    if (channelHeader.getType() !== ENDORSER_TRANSACTION) return;
    const signatureHeader = common.SignatureHeader.deserializeBinary(payloadHeader.getSignatureHeader_asU8());
    const creator = msp.SerializedIdentity.deserializeBinary(signatureHeader.getCreator_asU8());
    const timestamp = channelHeader.getTimestamp();
    const tx: BlockTransaction = {
      index,
      txId: channelHeader.getTxId(),
      validationCode: filter[index] ?? peer.TxValidationCode.NOT_VALIDATED,
      creatorMsp: creator.getMspid(),
      time: new Date((timestamp?.getSeconds() ?? 0) * 1000 + Math.floor((timestamp?.getNanos() ?? 0) / 1e6)),
    };
    const event = chaincodeEventOf(payload);
    if (event) tx.event = event;
    transactions.push(tx);
  });
  return { number, transactions };
}

function chaincodeEventOf(payload: common.Payload): BlockTransaction['event'] {
  const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = transaction.getActionsList()[0];
  if (!action) return undefined;
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const endorsed = actionPayload.getAction();
  if (!endorsed) return undefined;
  const responsePayload = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(responsePayload.getExtension_asU8());
  const eventBytes = chaincodeAction.getEvents_asU8();
  if (eventBytes.length === 0) return undefined;
  const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
  if (!event.getEventName()) return undefined;
  return { chaincodeId: event.getChaincodeId(), name: event.getEventName(), payload: event.getPayload_asU8() };
}
