// Simulation and endorsement as a Fabric endorser performs them: run the chaincode against committed
// state, wrap response, read-write set and event into a ProposalResponsePayload, and sign it per org.
import { peer } from '@hyperledger/fabric-protos';
import type { Ledger } from '../ledger/types.js';
import { bytesField, encode, fields, message, varintField, type Node } from './protoenc.js';
import { ERROR_THRESHOLD, type ChaincodeResponse, type ContractRuntime } from './chaincode.js';
import type { Signer } from './signer.js';
import { TxSimulator } from './simulator.js';

export interface ProposalInput {
  channelId: string;
  txId: string;
  args: Uint8Array[];
  proposalBytes: Uint8Array;
  signature: Uint8Array;
}

export interface Simulation {
  response: ChaincodeResponse;
  /** serialized TxReadWriteSet */
  results: Uint8Array;
  /** serialized ChaincodeEvent, empty when the chaincode set none */
  events: Uint8Array;
}

export function isError(response: ChaincodeResponse): boolean {
  return response.status < 200 || response.status >= ERROR_THRESHOLD;
}

export class Endorser {
  constructor(
    private readonly ledger: Ledger,
    private readonly runtime: ContractRuntime,
    readonly chaincodeName: string,
    readonly chaincodeVersion: string,
  ) {}

  async simulate(input: ProposalInput): Promise<Simulation> {
    const simulator = new TxSimulator(this.ledger, this.chaincodeName, input.txId);
    const { response, event } = await this.runtime.invoke(simulator, input);
    const results = simulator.finish();
    // peer.ChaincodeEvent{chaincode_id, tx_id, event_name, payload}
    const events = event
      ? message(bytesField(1, this.chaincodeName), bytesField(2, input.txId), bytesField(3, event.name), bytesField(4, event.payload))
      : Buffer.alloc(0);
    return { response, results, events };
  }

  /** ProposalResponsePayload{proposal_hash, extension: ChaincodeAction{results, events, response, chaincode_id}} */
  proposalResponsePayload(proposalHash: Uint8Array, sim: Simulation): Uint8Array {
    const action = fields(
      bytesField(1, sim.results),
      bytesField(2, sim.events),
      bytesField(3, responseFields(sim.response)),
      bytesField(4, fields(bytesField(2, this.chaincodeName), bytesField(3, this.chaincodeVersion))),
    );
    return message(bytesField(1, proposalHash), bytesField(2, action));
  }
}

/** peer.Response{status, message, payload} */
export function encodeResponse(response: ChaincodeResponse): Buffer {
  return encode(responseFields(response));
}

/** encodeResponse's fields, to embed without encoding twice. */
export function responseFields(response: ChaincodeResponse): Node {
  return fields(varintField(1, response.status), bytesField(2, response.message), bytesField(3, response.payload));
}

/** An endorsement: the peer's identity and its signature over payload ‖ endorser. */
export async function endorse(prpBytes: Uint8Array, signer: Signer): Promise<peer.Endorsement> {
  const endorsement = new peer.Endorsement();
  endorsement.setEndorser(signer.identity);
  endorsement.setSignature(await signer.signAsync(Buffer.concat([prpBytes, signer.identity])));
  return endorsement;
}
