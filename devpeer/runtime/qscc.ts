// The query system chaincode (qscc) for the one channel: chain info, blocks and transactions as the
// serialized protos Fabric returns, with Fabric's error messages.
import { common, peer } from '@hyperledger/fabric-protos';
import type { Ledger } from '../ledger/types.js';
import type { ChaincodeResponse } from './chaincode.js';

export const QSCC = 'qscc';

const ok = (payload: Uint8Array): ChaincodeResponse => ({ status: 200, message: '', payload });
const fail = (message: string): ChaincodeResponse => ({ status: 500, message, payload: new Uint8Array(0) });

export function invokeQscc(ledger: Ledger, args: Uint8Array[]): ChaincodeResponse {
  if (args.length < 2) return fail(`Incorrect number of arguments, ${args.length}`);
  const fname = Buffer.from(args[0]).toString('utf8');
  const channel = Buffer.from(args[1]).toString('utf8');
  if (fname !== 'GetChainInfo' && args.length < 3) return fail(`missing 3rd argument for ${fname}`);
  if (channel !== ledger.channel) return fail(`Invalid chain ID, ${channel}`);
  const arg = args.length > 2 ? Buffer.from(args[2]).toString('utf8') : '';

  switch (fname) {
    case 'GetChainInfo': {
      const info = ledger.chainInfo();
      const msg = new common.BlockchainInfo();
      msg.setHeight(info.height);
      msg.setCurrentblockhash(info.currentBlockHash);
      msg.setPreviousblockhash(info.previousBlockHash);
      return ok(msg.serializeBinary());
    }
    case 'GetBlockByNumber': {
      if (!/^\d+$/.test(arg)) return fail(`Failed to parse block number with error strconv.ParseUint: parsing "${arg}": invalid syntax`);
      const num = Number(arg);
      const block = ledger.getBlock(num);
      if (!block) return fail(`Failed to get block number ${num}, error no such block number [${num}] in index`);
      return ok(block);
    }
    case 'GetTransactionByID': {
      const tx = ledger.getTransaction(arg);
      if (!tx) return fail(`Failed to get transaction with id ${arg}, error no such transaction ID [${arg}] in index`);
      const processed = new peer.ProcessedTransaction();
      processed.setTransactionenvelope(common.Envelope.deserializeBinary(tx.envelope));
      processed.setValidationcode(tx.validationCode);
      return ok(processed.serializeBinary());
    }
    case 'GetBlockByTxID': {
      const tx = ledger.getTransaction(arg);
      const block = tx ? ledger.getBlock(tx.blockNum) : undefined;
      if (!block) return fail(`Failed to get block for txID ${arg}, error no such transaction ID [${arg}] in index`);
      return ok(block);
    }
    case 'GetBlockByHash':
      return fail(`Failed to get block hash ${arg}, error block lookup by hash is not supported by the devpeer`);
    default:
      return fail(`Requested function ${fname} not found.`);
  }
}
