// What the gateway service needs from the peer it fronts.
import type { Ledger } from '../ledger/types.js';
import type { MspRegistry, ValidatedIdentity } from '../msp/msp.js';
import type { Orderer } from '../orderer/orderer.js';
import type { Endorser } from '../runtime/endorser.js';
import { decode, DecodeError } from './decode.js';
import type { PeerEndorsers } from './endorsers.js';
import { Code, RpcError } from './errors.js';
import type { CommitNotifier } from './notifier.js';
import type { SubmitPipeline } from './pipeline.js';

export interface GatewayContext {
  channel: string;
  chaincode: string;
  /** host:port of this peer, reported in ErrorDetail.address */
  address(): string;
  msp: MspRegistry;
  ledger: Ledger;
  endorser: Endorser;
  endorsers: PeerEndorsers;
  orderer: Orderer;
  /** transactions on their way to the orderer (it waits for them before cutting a block) */
  pipeline: SubmitPipeline;
  notifier: CommitNotifier;
  maxArgsBytes: number;
  maxEnvelopeBytes: number;
  /** true once shutdown began: streams end, new work is refused */
  closing(): boolean;
  log(message: string): void;
}

export function requireChannel(ctx: GatewayContext, channelId: string): void {
  if (channelId !== ctx.channel) throw new RpcError(Code.NOT_FOUND, `channel '${channelId}' not found`);
}

/** Decodes a request message; malformed bytes are the client's error. */
export function decodeRequest<T>(type: { deserializeBinary(bytes: Uint8Array): T }, bytes: Uint8Array, name: string, prefix = ''): T {
  try {
    return decode(type, bytes, name);
  } catch (err) {
    if (err instanceof DecodeError) throw new RpcError(Code.INVALID_ARGUMENT, `${prefix}${err.message}`);
    throw err;
  }
}

/** Runs a hot-path decoder; malformed bytes are the client's error. */
export function decodeRequestFields<T>(decodeFields: () => T): T {
  try {
    return decodeFields();
  } catch (err) {
    if (err instanceof DecodeError) throw new RpcError(Code.INVALID_ARGUMENT, err.message);
    throw err;
  }
}

function requester(ctx: GatewayContext, channelId: string, identity: Uint8Array): ValidatedIdentity {
  try {
    return ctx.msp.validate(identity);
  } catch (err) {
    throw new RpcError(Code.PERMISSION_DENIED, `access denied: channel [${channelId}]: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function badRequestSignature(channelId: string, validated: ValidatedIdentity): RpcError {
  return new RpcError(Code.PERMISSION_DENIED, `access denied: channel [${channelId}] creator org [${validated.mspId}]: the signature over the request is not valid`);
}

/** Checks a signed request (commit status, chaincode events) the way the gateway's ACL check does. */
export function authorizeSignedRequest(
  ctx: GatewayContext,
  channelId: string,
  identity: Uint8Array,
  request: Uint8Array,
  signature: Uint8Array,
): ValidatedIdentity {
  const validated = requester(ctx, channelId, identity);
  if (!ctx.msp.verify(validated, request, signature)) throw badRequestSignature(channelId, validated);
  return validated;
}

/** authorizeSignedRequest with the signature verified on the thread pool. */
export async function authorizeSignedRequestAsync(
  ctx: GatewayContext,
  channelId: string,
  identity: Uint8Array,
  request: Uint8Array,
  signature: Uint8Array,
): Promise<ValidatedIdentity> {
  const validated = requester(ctx, channelId, identity);
  if (!(await ctx.msp.verifyAsync(validated, request, signature))) throw badRequestSignature(channelId, validated);
  return validated;
}
