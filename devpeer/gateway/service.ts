// The gateway.Gateway gRPC service (paths as in @hyperledger/fabric-protos' gateway_grpc_pb.js). Requests
// arrive as raw bytes and are decoded by the handlers, so malformed protobuf becomes INVALID_ARGUMENT
// with a clear message instead of grpc-js's INTERNAL deserialization failure.
import type { ServerUnaryCall, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import { chaincodeEvents } from './chaincodeevents.js';
import type { GatewayContext } from './context.js';
import { RpcError, toServiceError, describe } from './errors.js';
import { endorse, evaluate } from './proposals.js';
import { commitStatus, submit } from './submit.js';

interface Serializable {
  serializeBinary(): Uint8Array;
}

const passThrough = (bytes: Buffer): Buffer => bytes;
const serialize = (message: Serializable): Buffer => {
  const bytes = message.serializeBinary();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

function method(service: string, name: string, responseStream: boolean) {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: serialize,
    responseDeserialize: passThrough,
  };
}

export const gatewayServiceDefinition = {
  Evaluate: method('gateway.Gateway', 'Evaluate', false),
  Endorse: method('gateway.Gateway', 'Endorse', false),
  Submit: method('gateway.Gateway', 'Submit', false),
  CommitStatus: method('gateway.Gateway', 'CommitStatus', false),
  ChaincodeEvents: method('gateway.Gateway', 'ChaincodeEvents', true),
} as unknown as ServiceDefinition;

function report(ctx: GatewayContext, err: unknown): unknown {
  if (!(err instanceof RpcError)) ctx.log(`gateway: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : describe(err)}`);
  return err;
}

function unary<T extends Serializable>(
  ctx: GatewayContext,
  handle: (bytes: Buffer, call: ServerUnaryCall<Buffer, T>) => Promise<T>,
) {
  return (call: ServerUnaryCall<Buffer, T>, callback: sendUnaryData<T>): void => {
    handle(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(report(ctx, err))),
    );
  };
}

/** Runs `handle` with an AbortSignal that fires if the client cancels the call (or its deadline passes). */
async function cancellable<T>(call: ServerUnaryCall<Buffer, T>, handle: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onCancel = (): void => ac.abort();
  if (call.cancelled) ac.abort();
  else call.once('cancelled', onCancel);
  try {
    return await handle(ac.signal);
  } finally {
    call.off('cancelled', onCancel);
  }
}

export function gatewayService(ctx: GatewayContext): UntypedServiceImplementation {
  return {
    Evaluate: unary(ctx, (bytes) => evaluate(ctx, bytes)),
    Endorse: unary(ctx, (bytes) => endorse(ctx, bytes)),
    Submit: unary(ctx, (bytes) => submit(ctx, bytes)),
    CommitStatus: unary(ctx, (bytes, call) => cancellable(call, (signal) => commitStatus(ctx, bytes, signal))),
    ChaincodeEvents: (call: ServerWritableStream<Buffer, Serializable>) => {
      chaincodeEvents(ctx, call as never).then(
        () => {
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          if (!call.cancelled) call.emit('error', toServiceError(report(ctx, err)));
        },
      );
    },
  };
}
