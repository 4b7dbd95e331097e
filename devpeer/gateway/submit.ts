// Submit and CommitStatus.
import { OrdererUnavailableError } from '../orderer/orderer.js';
import { authorizeSignedRequestAsync, decodeRequestFields, requireChannel, type GatewayContext } from './context.js';
import { checkEnvelope, EnvelopeRejected } from './envelope.js';
import { Code, RpcError } from './errors.js';
import { decodeCommitStatusRequest, decodePair, decodeSubmitRequest, Encoded } from './messages.js';
import { message, varintField } from '../runtime/protoenc.js';

export async function submit(ctx: GatewayContext, bytes: Uint8Array): Promise<Encoded> {
  const end = ctx.pipeline.begin();
  try {
    return await submitTracked(ctx, bytes, end);
  } finally {
    end();
  }
}

async function submitTracked(ctx: GatewayContext, bytes: Uint8Array, end: (quiet?: boolean) => void): Promise<Encoded> {
  const request = decodeRequestFields(() => decodeSubmitRequest(bytes));
  ctx.pipeline.submitting(request.transactionId);
  const envelopeBytes = request.envelope;
  if (!envelopeBytes) throw new RpcError(Code.INVALID_ARGUMENT, 'a prepared transaction is required');
  const [, signature] = decodeRequestFields(() => decodePair(envelopeBytes, 'Envelope'));
  if (signature.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'prepared transaction must be signed');
  requireChannel(ctx, request.channelId);
  try {
    await checkEnvelope(envelopeBytes, {
      channel: ctx.channel,
      chaincode: ctx.chaincode,
      maxBytes: ctx.maxEnvelopeBytes,
      msp: ctx.msp,
      endorsers: ctx.endorsers,
    });
  } catch (err) {
    if (err instanceof EnvelopeRejected) {
      throw new RpcError(Code.ABORTED, `received unsuccessful response from orderer: status=${err.status}, info=${err.message}`);
    }
    throw err;
  }
  // From here on it is queued, not on its way; the enqueue weighs the block against what is still coming.
  end(true);
  try {
    ctx.orderer.enqueue(envelopeBytes);
  } catch (err) {
    if (!(err instanceof OrdererUnavailableError)) throw err;
    throw new RpcError(Code.UNAVAILABLE, 'no orderers could successfully process transaction', [
      { address: ctx.address(), mspId: 'OrdererMSP', message: err.message },
    ]);
  }
  return new Encoded(new Uint8Array(0)); // gateway.SubmitResponse has no fields
}

export async function commitStatus(ctx: GatewayContext, bytes: Uint8Array, signal: AbortSignal): Promise<Encoded> {
  const [requestBytes, signature] = decodeRequestFields(() => decodePair(bytes, 'SignedCommitStatusRequest'));
  if (requestBytes.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'a commit status request is required');
  const request = decodeRequestFields(() => decodeCommitStatusRequest(requestBytes, 'invalid status request: '));
  if (request.identity.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'no identity provided');
  if (!request.channelId) throw new RpcError(Code.INVALID_ARGUMENT, 'no channel ID provided');
  if (!request.transactionId) throw new RpcError(Code.INVALID_ARGUMENT, 'transaction ID should not be empty');
  requireChannel(ctx, request.channelId);
  await authorizeSignedRequestAsync(ctx, request.channelId, request.identity, requestBytes, signature);

  let status;
  try {
    status = await ctx.notifier.txStatus(request.transactionId, signal);
  } catch (err) {
    if (signal.aborted) throw new RpcError(Code.CANCELLED, 'context canceled');
    throw new RpcError(Code.ABORTED, `the ledger failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  // gateway.CommitStatusResponse{result: TxValidationCode, block_number}
  return new Encoded(message(varintField(1, status.code), varintField(2, status.blockNumber)));
}
