/** The ledger refused the request (a chaincode rule, a validation code): a 4xx for the caller. */
export class LedgerRejectedError extends Error {
  override readonly name = 'LedgerRejectedError';
  constructor(
    message: string,
    /** what kind of refusal the chaincode reported */
    readonly kind: 'denied' | 'not-found' | 'invalid' | 'conflict' | 'rejected',
    /** Fabric transaction validation code when the refusal happened at commit */
    readonly validationCode?: number,
    readonly transactionId?: string,
  ) {
    super(message);
  }
}

/** The ledger cannot be reached or is too far behind: the server must fail closed (503). */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
