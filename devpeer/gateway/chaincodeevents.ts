// ChaincodeEvents: the events of VALID transactions for one chaincode, one response per block that has
// any, from the requested start (or just after a checkpointed transaction), then live as blocks commit.
import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { gateway, orderer, peer } from '@hyperledger/fabric-protos';
import type { CommittedTransaction } from '../ledger/types.js';
import { transactionsOfBlock } from './blockevents.js';
import { authorizeSignedRequest, decodeRequest, requireChannel, type GatewayContext } from './context.js';
import { Code, RpcError } from './errors.js';

const VALID = peer.TxValidationCode.VALID;

interface Start {
  block: number;
  /** skip transactions of the start block up to and including this index (checkpoint resume) */
  skipThroughTx: number;
}

function startOf(ctx: GatewayContext, request: gateway.ChaincodeEventsRequest): Start {
  const after = request.getAfterTransactionId();
  if (after) {
    const tx = ctx.ledger.getTransaction(after);
    if (tx) return { block: tx.blockNum, skipThroughTx: tx.txNum };
  }
  const position = request.getStartPosition();
  const height = ctx.ledger.height();
  switch (position?.getTypeCase() ?? orderer.SeekPosition.TypeCase.TYPE_NOT_SET) {
    case orderer.SeekPosition.TypeCase.TYPE_NOT_SET:
    case orderer.SeekPosition.TypeCase.NEXT_COMMIT:
      return { block: height, skipThroughTx: -1 };
    case orderer.SeekPosition.TypeCase.SPECIFIED:
      return { block: position?.getSpecified()?.getNumber() ?? 0, skipThroughTx: -1 };
    case orderer.SeekPosition.TypeCase.OLDEST:
      return { block: 0, skipThroughTx: -1 };
    case orderer.SeekPosition.TypeCase.NEWEST:
      return { block: Math.max(height - 1, 0), skipThroughTx: -1 };
    default:
      throw new RpcError(Code.INVALID_ARGUMENT, `invalid start position type: ${position?.getTypeCase()}`);
  }
}

function transactionsOf(ctx: GatewayContext, blockNumber: number): CommittedTransaction[] {
  const recent = ctx.notifier.recentBlock(blockNumber);
  if (recent) return recent;
  const bytes = ctx.ledger.getBlock(blockNumber);
  if (!bytes) throw new RpcError(Code.ABORTED, `block ${blockNumber} is missing from the ledger`);
  return transactionsOfBlock(bytes);
}

/** Waits for the stream to accept more, or to end. */
async function drained(call: ServerWritableStream<Buffer, gateway.ChaincodeEventsResponse>): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race(['drain', 'cancelled', 'close', 'error'].map((name) => once(call, name, { signal: ac.signal })));
  } catch {
    // an 'error' event ends the stream; the loop sees call.cancelled or writes into a closed stream
  } finally {
    ac.abort();
  }
}

export async function chaincodeEvents(
  ctx: GatewayContext,
  call: ServerWritableStream<Buffer, gateway.ChaincodeEventsResponse>,
): Promise<void> {
  const signed = decodeRequest(gateway.SignedChaincodeEventsRequest, call.request, 'SignedChaincodeEventsRequest');
  const requestBytes = signed.getRequest_asU8();
  if (requestBytes.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'a chaincode events request is required');
  const request = decodeRequest(gateway.ChaincodeEventsRequest, requestBytes, 'ChaincodeEventsRequest', 'invalid chaincode events request: ');
  requireChannel(ctx, request.getChannelId());
  authorizeSignedRequest(ctx, request.getChannelId(), request.getIdentity_asU8(), requestBytes, signed.getSignature_asU8());
  const chaincodeId = request.getChaincodeId();
  const start = startOf(ctx, request);

  let wake: (() => void) | undefined;
  const unsubscribe = ctx.notifier.onBlock(() => wake?.());
  const onCancel = (): void => wake?.();
  call.on('cancelled', onCancel);
  try {
    for (let next = start.block; ; next++) {
      while (next >= ctx.ledger.height()) {
        if (call.cancelled || ctx.closing()) return;
        if (ctx.notifier.failedWith) throw new RpcError(Code.ABORTED, `the ledger failed: ${ctx.notifier.failedWith.message}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      if (call.cancelled || ctx.closing()) return;
      const events: peer.ChaincodeEvent[] = [];
      transactionsOf(ctx, next).forEach((tx, index) => {
        if (next === start.block && index <= start.skipThroughTx) return;
        if (tx.validationCode !== VALID || !tx.event || tx.event.chaincodeId !== chaincodeId) return;
        const event = new peer.ChaincodeEvent();
        event.setChaincodeId(tx.event.chaincodeId);
        event.setTxId(tx.event.txId);
        event.setEventName(tx.event.eventName);
        event.setPayload(tx.event.payload);
        events.push(event);
      });
      if (events.length === 0) continue;
      const response = new gateway.ChaincodeEventsResponse();
      response.setBlockNumber(next);
      response.setEventsList(events);
      if (!call.write(response)) await drained(call);
    }
  } finally {
    unsubscribe();
    call.off('cancelled', onCancel);
  }
}
