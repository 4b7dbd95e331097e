// Evaluate and Endorse: decode the request, route it (channel, chaincode, organizations), let the
// peer validate and simulate the proposal, and map failures to the Fabric gateway's codes and details.
import { isError, responseFields, type Simulation } from '../runtime/endorser.js';
import { bytesField, message } from '../runtime/protoenc.js';
import { invokeQscc, QSCC } from '../runtime/qscc.js';
import { preparedTransactionFields } from '../runtime/transaction.js';
import { decodeRequestFields, requireChannel, type GatewayContext } from './context.js';
import { DecodeError } from './decode.js';
import { Code, RpcError, type ErrorDetail } from './errors.js';
import { decodePair, decodeProposalRequest, Encoded } from './messages.js';
import { ProposalError, unpackProposal, validateProposal, type UnpackedProposal } from './proposal.js';

/** msp.SerializedIdentity.mspid (field 1), or '' when the creator does not decode. */
function creatorMspId(creator: Uint8Array): string {
  try {
    return decodePair(creator, 'SerializedIdentity')[0].toString('utf8');
  } catch {
    return '';
  }
}

function checkSize(ctx: GatewayContext, up: UnpackedProposal): void {
  if (up.inputBytes > ctx.maxArgsBytes) {
    throw new RpcError(
      Code.RESOURCE_EXHAUSTED,
      `transaction arguments and transient data total ${up.inputBytes} bytes, more than the limit of ${ctx.maxArgsBytes} bytes`,
    );
  }
}

/** The organization whose peer serves a request that names none: the client's own, else the first. */
function defaultOrg(ctx: GatewayContext, up: UnpackedProposal): string {
  const own = creatorMspId(up.creator);
  return ctx.endorsers.signers.has(own) ? own : ctx.endorsers.orgs()[0];
}

/** What the endorsing peer does before simulating; throws the message its ProposalResponse would carry. */
async function preProcess(ctx: GatewayContext, up: UnpackedProposal): Promise<void> {
  try {
    await validateProposal(up, ctx.msp);
  } catch (err) {
    if (err instanceof ProposalError) throw new ProposalError(`error validating proposal: ${err.message}`);
    throw err;
  }
  if (ctx.ledger.hasTransaction(up.txId)) {
    throw new ProposalError(`duplicate transaction found [${up.txId}]. Creator [${Buffer.from(up.creator).toString('hex')}]`);
  }
}

function detail(ctx: GatewayContext, mspId: string, message: string): ErrorDetail {
  return { address: ctx.address(), mspId, message };
}

function chaincodeFailure(sim: { response: Simulation['response'] }): string {
  return `chaincode response ${sim.response.status}, ${sim.response.message}`;
}

export async function evaluate(ctx: GatewayContext, bytes: Uint8Array): Promise<Encoded> {
  const request = decodeRequestFields(() => decodeProposalRequest(bytes, 'EvaluateRequest'));
  let up: UnpackedProposal;
  try {
    up = unpackProposal(request.proposal);
  } catch (err) {
    if (err instanceof ProposalError || err instanceof DecodeError) {
      throw new RpcError(Code.INVALID_ARGUMENT, `failed to unpack transaction proposal: ${err.message}`);
    }
    throw err;
  }
  requireChannel(ctx, up.channelId);
  if (up.chaincodeName !== ctx.chaincode && up.chaincodeName !== QSCC) {
    throw new RpcError(Code.FAILED_PRECONDITION, `no peers available to evaluate chaincode ${up.chaincodeName} in channel ${up.channelId}`);
  }
  checkSize(ctx, up);
  const targets = request.organizations;
  const org = targets.length > 0 ? targets.find((t) => ctx.endorsers.signers.has(t)) : defaultOrg(ctx, up);
  if (!org) {
    throw new RpcError(Code.FAILED_PRECONDITION, `no peers available to evaluate chaincode ${up.chaincodeName} in channel ${up.channelId}`);
  }

  try {
    await preProcess(ctx, up);
  } catch (err) {
    if (!(err instanceof ProposalError)) throw err;
    throw new RpcError(Code.FAILED_PRECONDITION, `evaluate call to endorser returned error: ${err.message}`, [detail(ctx, org, err.message)]);
  }
  const response =
    up.chaincodeName === QSCC ? invokeQscc(ctx.ledger, up.args) : (await ctx.endorser.simulate(up)).response;
  if (isError(response)) {
    const message = chaincodeFailure({ response });
    throw new RpcError(Code.UNKNOWN, `evaluate call to endorser returned error: ${message}`, [detail(ctx, org, message)]);
  }
  // gateway.EvaluateResponse{result: peer.Response}
  return new Encoded(message(bytesField(1, responseFields(response))));
}

export async function endorse(ctx: GatewayContext, bytes: Uint8Array): Promise<Encoded> {
  const end = ctx.pipeline.begin();
  try {
    return await endorseTracked(ctx, bytes);
  } finally {
    end();
  }
}

async function endorseTracked(ctx: GatewayContext, bytes: Uint8Array): Promise<Encoded> {
  const request = decodeRequestFields(() => decodeProposalRequest(bytes, 'EndorseRequest'));
  const signed = request.proposal;
  if (!signed || signed.proposalBytes.length === 0) {
    throw new RpcError(Code.INVALID_ARGUMENT, 'the proposed transaction must contain a signed proposal');
  }
  let up: UnpackedProposal;
  try {
    up = unpackProposal(signed);
  } catch (err) {
    if (err instanceof ProposalError || err instanceof DecodeError) throw new RpcError(Code.INVALID_ARGUMENT, err.message);
    throw err;
  }
  requireChannel(ctx, up.channelId);
  if (up.chaincodeName !== ctx.chaincode) {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      up.chaincodeName === QSCC
        ? `chaincode ${QSCC} only answers queries: evaluate it instead of submitting it`
        : `no combination of peers can be derived which satisfy the endorsement policy: chaincode ${up.chaincodeName} is not defined on channel ${up.channelId}`,
    );
  }
  checkSize(ctx, up);

  const requested = [...new Set(request.organizations)];
  const missing = requested.filter((org) => !ctx.endorsers.signers.has(org));
  if (missing.length > 0) {
    throw new RpcError(Code.UNAVAILABLE, `failed to find any endorsing peers for org(s): ${missing.join(', ')}`);
  }
  const orgs = requested.length > 0 ? requested : [defaultOrg(ctx, up)];
  const failure =
    requested.length > 0
      ? 'failed to collect enough transaction endorsements, see attached details for more info'
      : 'failed to endorse transaction, see attached details for more info';
  const fail = (message: string): RpcError =>
    new RpcError(Code.ABORTED, failure, orgs.map((org) => detail(ctx, org, message)));

  try {
    await preProcess(ctx, up);
  } catch (err) {
    if (err instanceof ProposalError) throw fail(err.message);
    throw err;
  }
  const sim = await ctx.endorser.simulate(up);
  if (isError(sim.response)) throw fail(chaincodeFailure(sim));

  const prpBytes = ctx.endorser.proposalResponsePayload(up.proposalHash, sim);
  const endorsements = await ctx.endorsers.endorse(up.txId, prpBytes, orgs);
  ctx.pipeline.endorsed(up.txId);
  // gateway.EndorseResponse{prepared_transaction: common.Envelope}
  return new Encoded(message(bytesField(1, preparedTransactionFields(up, prpBytes, endorsements))));
}
