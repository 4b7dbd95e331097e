// Public surface of the devpeer's channel ledger.
export type * from './types.js';
export { openLedger, type FileLedger, type OpenLedgerOptions, type StartupReport } from './ledger.js';
export { verifyLedger, type VerifyResult } from './verify-ledger.js';
export { ledgerDir, findLedgerDirs } from './layout.js';
export { LedgerCorruptError } from './blockstore.js';
export { buildGenesisBlock, buildGenesisEnvelope, type GenesisOptions } from './genesis.js';
export { blockHeaderHash, blockHeaderBytes, blockDataHash } from './blockhash.js';
export {
  parseEndorserTransaction,
  parseTxHeader,
  tryParseTransaction,
  TxParseError,
  type EndorserTransaction,
  type NsRwSet,
  type ReadEntry,
  type RangeQueryEntry,
  type WriteEntry,
  type TxHeader,
} from './txparse.js';
export { compareUtf8 } from './keyorder.js';
export { Code as TxValidationCode, codeName } from './codes.js';
