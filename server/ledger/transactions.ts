import { status as GrpcStatus } from '@grpc/grpc-js';
import { CommitError, GatewayError, type Contract, type Gateway, type Network } from '@hyperledger/fabric-gateway';
import type { LedgerConnection } from './connection.js';
import type { LedgerUser } from './identity.js';
import { LedgerRejectedError, LedgerUnavailableError } from './errors.js';

const VALID = 0;
const MVCC_READ_CONFLICT = 11;
const PHANTOM_READ_CONFLICT = 12;
const MAX_CONFLICT_RETRIES = 3;

export interface SubmitResult {
  transactionId: string;
  blockNumber: number;
  result: Uint8Array;
}

/** Submits and evaluates chaincode functions as a given user, mapping Fabric errors to ours. */
export class LedgerTransactions {
  /** The channel's Network and the chaincode's Contract per (cached) Gateway. */
  private readonly handles = new WeakMap<Gateway, { network: Network; contract: Contract }>();

  constructor(
    private readonly connection: LedgerConnection,
    private readonly channel: string,
    private readonly chaincode: string,
  ) {}

  private handlesFor(user: LedgerUser): { network: Network; contract: Contract } {
    const gateway = this.connection.gatewayFor(user);
    let handles = this.handles.get(gateway);
    if (!handles) {
      const network = gateway.getNetwork(this.channel);
      handles = { network, contract: network.getContract(this.chaincode) };
      this.handles.set(gateway, handles);
    }
    return handles;
  }

  async evaluate(user: LedgerUser, fn: string, args: string[]): Promise<Uint8Array> {
    const { contract } = this.handlesFor(user);
    try {
      return await contract.evaluateTransaction(fn, ...args);
    } catch (err) {
      throw mapLedgerError(err);
    }
  }

  /**
   * Endorse, order and wait for commit. MVCC conflicts are re-endorsed against fresh state a few times.
   * The commit status comes from the connection's block stream when it is live, else from CommitStatus.
   */
  async submit(user: LedgerUser, fn: string, args: string[]): Promise<SubmitResult> {
    const { network, contract } = this.handlesFor(user);
    const commits = this.connection.commits(this.channel);
    for (let attempt = 0; ; attempt++) {
      try {
        const proposal = contract.newProposal(fn, { arguments: args });
        const transaction = await proposal.endorse();
        const watch = commits.watch(proposal.getTransactionId(), network);
        let submitted;
        try {
          submitted = await transaction.submit();
        } catch (err) {
          watch?.cancel();
          throw err;
        }
        const seen = await watch?.status;
        const status = seen
          ? { ...seen, transactionId: submitted.getTransactionId(), successful: seen.code === VALID }
          : await submitted.getStatus();
        if (!status.successful) {
          throw new CommitError({ code: status.code, transactionId: status.transactionId, message: `transaction ${status.transactionId} failed to commit with status code ${status.code}` });
        }
        return { transactionId: status.transactionId, blockNumber: Number(status.blockNumber), result: submitted.getResult() };
      } catch (err) {
        const conflict = err instanceof CommitError && (err.code === MVCC_READ_CONFLICT || err.code === PHANTOM_READ_CONFLICT);
        if (conflict && attempt < MAX_CONFLICT_RETRIES) continue;
        throw mapLedgerError(err);
      }
    }
  }
}

const UNAVAILABLE_CODES = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED, GrpcStatus.RESOURCE_EXHAUSTED]);

export function mapLedgerError(err: unknown): Error {
  if (err instanceof LedgerRejectedError || err instanceof LedgerUnavailableError) return err;
  if (err instanceof CommitError) {
    const kind = err.code === MVCC_READ_CONFLICT || err.code === PHANTOM_READ_CONFLICT ? 'conflict' : 'rejected';
    return new LedgerRejectedError(`ledger rejected transaction ${err.transactionId} at commit (validation code ${err.code})`, kind, err.code, err.transactionId);
  }
  if (err instanceof GatewayError) {
    if (UNAVAILABLE_CODES.has(err.code)) {
      return new LedgerUnavailableError(`ledger unavailable: ${err.message}`, { cause: err });
    }
    const detail = err.details.map((d) => d.message).find(Boolean) ?? err.message;
    const message = chaincodeMessage(detail);
    return new LedgerRejectedError(message, classify(message));
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Strip Fabric's "chaincode response 500, " wrapper so callers see the contract's own words. */
function chaincodeMessage(detail: string): string {
  const match = /chaincode response \d+, (.*)$/s.exec(detail);
  return (match ? match[1] : detail).trim();
}

function classify(message: string): LedgerRejectedError['kind'] {
  if (/^Permission denied/i.test(message)) return 'denied';
  if (/^Not found/i.test(message)) return 'not-found';
  if (/^Invalid argument/i.test(message)) return 'invalid';
  if (/^Conflict/i.test(message)) return 'conflict';
  return 'rejected';
}
