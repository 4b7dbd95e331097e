import { common, peer } from '@hyperledger/fabric-protos';

/** peer.TxValidationCode (VALID = 0, DUPLICATE_TXID = 9, MVCC_READ_CONFLICT = 11, ...) */
export const Code = peer.TxValidationCode;
/** common.HeaderType (CONFIG = 1, ENDORSER_TRANSACTION = 3, ...) */
export const HeaderType = common.HeaderType;

const names = new Map<number, string>(Object.entries(peer.TxValidationCode).map(([k, v]) => [v, k]));

/** The enum name of a validation code, e.g. 11 → "MVCC_READ_CONFLICT". */
export function codeName(code: number): string {
  return names.get(code) ?? `UNKNOWN(${code})`;
}
