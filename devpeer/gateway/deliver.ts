// protos.Deliver (Deliver, DeliverFiltered, DeliverWithPrivateData): block events as a Fabric peer's
// deliver service streams them. Each request envelope carries a SeekInfo; blocks from start to stop are
// sent (waiting for new blocks under BLOCK_UNTIL_READY), then a SUCCESS status, and the stream stays open
// for the next request. Failures are reported as DeliverResponse statuses, as Fabric does.
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { common, orderer, peer } from '@hyperledger/fabric-protos';
import type { CommittedChaincodeEvent } from '../ledger/types.js';
import { describeBlock } from './blockevents.js';
import type { GatewayContext } from './context.js';
import { decode } from './decode.js';
import { Encoded } from './messages.js';
import { bytesField, enumField, fields, message, messageField, varintField, type Part } from '../runtime/protoenc.js';

type Status = common.StatusMap[keyof common.StatusMap];
type Kind = 'block' | 'filtered' | 'private';

const VALID = peer.TxValidationCode.VALID;

interface Serializable {
  serializeBinary(): Uint8Array;
}

const passThrough = (bytes: Buffer): Buffer => bytes;
const serialize = (message: Serializable): Buffer => {
  const bytes = message.serializeBinary();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

function method(name: string) {
  return {
    path: `/protos.Deliver/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: serialize,
    responseDeserialize: passThrough,
  };
}

export const deliverServiceDefinition = {
  Deliver: method('Deliver'),
  DeliverFiltered: method('DeliverFiltered'),
  DeliverWithPrivateData: method('DeliverWithPrivateData'),
} as unknown as ServiceDefinition;

class DeliverFailure extends Error {
  constructor(
    readonly status: Status,
    message: string,
  ) {
    super(message);
  }
}

function statusResponse(status: Status): peer.DeliverResponse {
  const response = new peer.DeliverResponse();
  response.setStatus(status);
  return response;
}

/** A DeliverResponse whose block field holds the stored bytes as they are, without a decode/encode. */
function rawBlockResponse(kind: 'block' | 'private', blockBytes: Uint8Array): Serializable {
  const inner =
    kind === 'block'
      ? blockBytes
      : Buffer.concat([Buffer.from([0x0a]), varint(blockBytes.length), blockBytes]); // BlockAndPrivateData.block
  const field = kind === 'block' ? 0x12 : 0x22;
  return { serializeBinary: () => Buffer.concat([Buffer.from([field]), varint(inner.length), inner]) };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

interface FilteredTx {
  txId: string;
  /** common.HeaderType */
  type: number;
  validationCode: number;
  event?: Omit<CommittedChaincodeEvent, 'payload'>;
}

/** The event as filtered blocks carry it (as describeBlock reads it): only when fully named. */
function namedEvent(event: CommittedChaincodeEvent | undefined): FilteredTx['event'] {
  return event?.chaincodeId && event.txId && event.eventName ? event : undefined;
}

/**
 * The block's transactions as a filtered block shows them. A recently committed block of only VALID
 * transactions (endorser transactions whose events the commit reported) needs no re-read; any other
 * block is read back, since invalid transactions' events and header types are not kept.
 */
function filteredTransactions(ctx: GatewayContext, blockNumber: number): FilteredTx[] {
  const recent = ctx.notifier.recentBlock(blockNumber);
  if (recent?.every((tx) => tx.validationCode === VALID)) {
    return recent.map((tx) => ({ txId: tx.txId, validationCode: VALID, type: common.HeaderType.ENDORSER_TRANSACTION, event: namedEvent(tx.event) }));
  }
  const bytes = ctx.ledger.getBlock(blockNumber);
  if (!bytes) throw new DeliverFailure(common.Status.INTERNAL_SERVER_ERROR, `block ${blockNumber} is missing`);
  return describeBlock(bytes).transactions;
}

/**
 * DeliverResponse{filtered_block: FilteredBlock{channel_id, number, filtered_transactions}}, encoded directly
 * (one message per block, one entry per transaction). A FilteredTransaction is {txid, type,
 * tx_validation_code, transaction_actions} where endorser transactions carry FilteredTransactionActions
 * {chaincode_actions: [FilteredChaincodeAction{chaincode_event: ChaincodeEvent without payload}]}.
 */
function filteredResponse(ctx: GatewayContext, blockNumber: number): Encoded {
  const transactions = filteredTransactions(ctx, blockNumber).map((tx) => {
    let actions: Part;
    if (tx.type === common.HeaderType.ENDORSER_TRANSACTION) {
      const event = tx.event
        ? messageField(1, messageField(1, fields(bytesField(1, tx.event.chaincodeId), bytesField(2, tx.event.txId), bytesField(3, tx.event.eventName))))
        : undefined;
      actions = messageField(4, fields(event));
    }
    return messageField(4, fields(bytesField(1, tx.txId), enumField(2, tx.type), enumField(3, tx.validationCode), actions));
  });
  const block = fields(bytesField(1, ctx.channel), varintField(2, blockNumber), ...transactions);
  return new Encoded(message(messageField(3, block)));
}

function position(ctx: GatewayContext, pos: orderer.SeekPosition | undefined, which: 'start' | 'stop'): number {
  const height = ctx.ledger.height();
  switch (pos?.getTypeCase()) {
    case orderer.SeekPosition.TypeCase.OLDEST:
      return 0;
    case orderer.SeekPosition.TypeCase.NEWEST:
      return Math.max(height - 1, 0);
    case orderer.SeekPosition.TypeCase.SPECIFIED:
      return pos.getSpecified()?.getNumber() ?? 0;
    case orderer.SeekPosition.TypeCase.NEXT_COMMIT:
      return height;
    default:
      throw new DeliverFailure(common.Status.BAD_REQUEST, `${which} position is not set`);
  }
}

function parseRequest(ctx: GatewayContext, bytes: Uint8Array): orderer.SeekInfo {
  let payload: common.Payload;
  let channelHeader: common.ChannelHeader;
  let signatureHeader: common.SignatureHeader;
  let envelope: common.Envelope;
  try {
    envelope = decode(common.Envelope, bytes, 'Envelope');
    payload = decode(common.Payload, envelope.getPayload_asU8(), 'Payload');
    channelHeader = decode(common.ChannelHeader, payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(0), 'ChannelHeader');
    signatureHeader = decode(common.SignatureHeader, payload.getHeader()?.getSignatureHeader_asU8() ?? new Uint8Array(0), 'SignatureHeader');
  } catch (err) {
    throw new DeliverFailure(common.Status.BAD_REQUEST, err instanceof Error ? err.message : String(err));
  }
  if (channelHeader.getChannelId() !== ctx.channel) throw new DeliverFailure(common.Status.NOT_FOUND, `channel ${channelHeader.getChannelId()} not found`);
  try {
    const identity = ctx.msp.validate(signatureHeader.getCreator_asU8());
    if (!ctx.msp.verify(identity, envelope.getPayload_asU8(), envelope.getSignature_asU8())) throw new Error('signature is not valid');
  } catch (err) {
    throw new DeliverFailure(common.Status.FORBIDDEN, err instanceof Error ? err.message : String(err));
  }
  try {
    return decode(orderer.SeekInfo, payload.getData_asU8(), 'SeekInfo');
  } catch (err) {
    throw new DeliverFailure(common.Status.BAD_REQUEST, err instanceof Error ? err.message : String(err));
  }
}

async function serve(ctx: GatewayContext, call: ServerDuplexStream<Buffer, Serializable>, kind: Kind): Promise<void> {
  let wake: (() => void) | undefined;
  const unsubscribe = ctx.notifier.onBlock(() => wake?.());
  const onCancel = (): void => wake?.();
  call.on('cancelled', onCancel);
  try {
    for await (const request of call as AsyncIterable<Buffer>) {
      let status: Status = common.Status.SUCCESS;
      try {
        const seek = parseRequest(ctx, request);
        const start = position(ctx, seek.getStart(), 'start');
        const stop = position(ctx, seek.getStop(), 'stop');
        if (stop < start) throw new DeliverFailure(common.Status.BAD_REQUEST, 'start number greater than stop number');
        const failIfNotReady = seek.getBehavior() === orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY;
        for (let n = start; n <= stop; n++) {
          while (n >= ctx.ledger.height()) {
            if (failIfNotReady) throw new DeliverFailure(common.Status.NOT_FOUND, `block ${n} is not yet committed`);
            if (call.cancelled || ctx.closing()) return;
            if (ctx.notifier.failedWith) throw new DeliverFailure(common.Status.SERVICE_UNAVAILABLE, ctx.notifier.failedWith.message);
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
          if (call.cancelled || ctx.closing()) return;
          if (kind === 'filtered') {
            call.write(filteredResponse(ctx, n));
          } else {
            const bytes = ctx.ledger.getBlock(n);
            if (!bytes) throw new DeliverFailure(common.Status.INTERNAL_SERVER_ERROR, `block ${n} is missing`);
            call.write(rawBlockResponse(kind, bytes));
          }
        }
      } catch (err) {
        if (!(err instanceof DeliverFailure)) throw err;
        ctx.log(`deliver: ${err.message}`);
        status = err.status;
      }
      if (call.cancelled || ctx.closing()) return;
      call.write(statusResponse(status));
    }
  } finally {
    unsubscribe();
    call.off('cancelled', onCancel);
  }
}

export function deliverService(ctx: GatewayContext): UntypedServiceImplementation {
  const handler = (kind: Kind) => (call: ServerDuplexStream<Buffer, Serializable>) => {
    serve(ctx, call, kind).then(
      () => {
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        ctx.log(`deliver: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
        if (!call.cancelled) call.end();
      },
    );
  };
  return { Deliver: handler('block'), DeliverFiltered: handler('filtered'), DeliverWithPrivateData: handler('private') };
}
