// Reads the transactions of a stored block (for event replay of blocks no longer in the recent cache):
// tx ids, validation codes from the TRANSACTIONS_FILTER metadata, and the chaincode event of each valid one.
import { common, peer } from '@hyperledger/fabric-protos';
import type { CommittedTransaction } from '../ledger/types.js';

const VALID = peer.TxValidationCode.VALID;

function chaincodeEventOf(payload: common.Payload): CommittedTransaction['event'] {
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  for (const action of tx.getActionsList()) {
    try {
      const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
      const prp = peer.ProposalResponsePayload.deserializeBinary(actionPayload.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(0));
      const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
      const event = peer.ChaincodeEvent.deserializeBinary(ccAction.getEvents_asU8());
      // Fabric's gateway ignores events missing any of these.
      if (event.getChaincodeId() && event.getEventName() && event.getTxId()) {
        return { chaincodeId: event.getChaincodeId(), txId: event.getTxId(), eventName: event.getEventName(), payload: event.getPayload_asU8() };
      }
    } catch {
      // not a chaincode action; Fabric skips it too
    }
  }
  return undefined;
}

export interface BlockTransaction {
  txId: string;
  /** common.HeaderType */
  type: number;
  validationCode: number;
  /** the chaincode event, whatever the validation code */
  event: CommittedTransaction['event'];
}

export function describeBlock(blockBytes: Uint8Array): { number: number; transactions: BlockTransaction[] } {
  const block = common.Block.deserializeBinary(blockBytes);
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array(0);
  const transactions = envelopes.map((bytes, i) => {
    const validationCode = i < filter.length ? filter[i] : peer.TxValidationCode.NOT_VALIDATED;
    let txId = '';
    let type = -1;
    let event: CommittedTransaction['event'];
    try {
      const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(bytes).getPayload_asU8());
      const channelHeader = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(0));
      txId = channelHeader.getTxId();
      type = channelHeader.getType();
      if (type === common.HeaderType.ENDORSER_TRANSACTION) event = chaincodeEventOf(payload);
    } catch {
      // an unparsable envelope is never VALID and carries no event
    }
    return { txId, type, validationCode, event };
  });
  return { number: block.getHeader()?.getNumber() ?? 0, transactions };
}

/** Transactions as the ledger reports them on commit: events only for VALID ones. */
export function transactionsOfBlock(blockBytes: Uint8Array): CommittedTransaction[] {
  return describeBlock(blockBytes).transactions.map(({ txId, validationCode, event }) => ({
    txId,
    validationCode,
    event: validationCode === VALID ? event : undefined,
  }));
}
