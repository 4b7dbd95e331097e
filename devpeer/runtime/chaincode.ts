// Runs a fabric-contract-api chaincode in-process the way fabric-shim's bootstrap and handler do:
// ChaincodeFromContract with the default JSON serializer, a real ChaincodeStub per invocation, Invoke().
import { ChaincodeFromContract, ChaincodeStub, JSONSerializer, shimProtos, type ContractChaincode, type StubHandler } from './shim.js';

export interface Invocation {
  channelId: string;
  txId: string;
  /** ChaincodeInput args: function name then arguments */
  args: Uint8Array[];
  proposalBytes: Uint8Array;
  signature: Uint8Array;
}

export interface ChaincodeResponse {
  status: number;
  message: string;
  payload: Uint8Array;
}

export interface InvocationResult {
  response: ChaincodeResponse;
  /** the event of the last setEvent call, if any */
  event?: { name: string; payload: Uint8Array };
}

/** Status codes at or above this are errors, as in shim.ERRORTHRESHOLD. */
export const ERROR_THRESHOLD = 400;

/** Fabric's default chaincode execute timeout (CORE_CHAINCODE_EXECUTETIMEOUT). */
export const EXECUTE_TIMEOUT_MS = 30_000;

class ExecuteTimeout extends Error {}

export class ContractRuntime {
  private readonly chaincode: ContractChaincode;

  constructor(
    contracts: unknown[],
    info: { title: string; version: string },
    private readonly timeoutMs = EXECUTE_TIMEOUT_MS,
  ) {
    const serializers = { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } };
    // ChaincodeFromContract appends its system contract to the array it is given.
    this.chaincode = new ChaincodeFromContract([...contracts], serializers, {}, info.title, info.version);
  }

  async invoke(handler: StubHandler, inv: Invocation): Promise<InvocationResult> {
    const input = new shimProtos.peer.ChaincodeInput();
    input.setArgsList(inv.args);
    const signedProposal = new shimProtos.peer.SignedProposal();
    signedProposal.setProposalBytes(inv.proposalBytes);
    signedProposal.setSignature(inv.signature);

    let response: ChaincodeResponse;
    let event: InvocationResult['event'];
    try {
      const stub = new ChaincodeStub(handler, inv.channelId, inv.txId, input, signedProposal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ExecuteTimeout(`timeout expired while executing transaction`)), this.timeoutMs);
      });
      const res = await Promise.race([this.chaincode.Invoke(stub), timeout]).finally(() => clearTimeout(timer));
      if (!res || !res.status) {
        response = { status: 500, message: 'Calling chaincode Invoke() has not called success or error.', payload: new Uint8Array(0) };
      } else {
        response = { status: res.status, message: res.message ?? '', payload: res.payload ?? new Uint8Array(0) };
      }
      if (stub.chaincodeEvent) {
        event = { name: stub.chaincodeEvent.getEventName(), payload: stub.chaincodeEvent.getPayload_asU8() };
      }
    } catch (err) {
      response = { status: 500, message: err instanceof Error ? err.message : String(err), payload: new Uint8Array(0) };
    }
    return { response, event };
  }
}
