// gRPC errors shaped like the Fabric gateway's: a status code and message, plus gateway.ErrorDetail
// entries packed as google.protobuf.Any into a google.rpc.Status in the grpc-status-details-bin trailer,
// which is where @hyperledger/fabric-gateway reads EndorseError/GatewayError `details` from.
import { Metadata, status, type ServerErrorResponse } from '@grpc/grpc-js';
import { gateway, google } from '@hyperledger/fabric-protos';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';

const { Any } = anyPb; // CommonJS without static named exports

export { status as Code };

export interface ErrorDetail {
  address: string;
  mspId: string;
  message: string;
}

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

const DETAIL_TYPE_URL = 'type.googleapis.com/gateway.ErrorDetail';

function statusDetailsBin(code: status, message: string, details: ErrorDetail[]): Buffer {
  const st = new google.rpc.Status();
  st.setCode(code);
  st.setMessage(message);
  st.setDetailsList(
    details.map((d) => {
      const detail = new gateway.ErrorDetail();
      detail.setAddress(d.address);
      detail.setMspId(d.mspId);
      detail.setMessage(d.message);
      const any = new Any();
      any.setTypeUrl(DETAIL_TYPE_URL);
      any.setValue(detail.serializeBinary());
      return any;
    }),
  );
  return Buffer.from(st.serializeBinary());
}

/** What a grpc-js handler passes to its callback (or emits) to fail a call. */
export function toServiceError(err: unknown): ServerErrorResponse {
  const rpc =
    err instanceof RpcError ? err : new RpcError(status.INTERNAL, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  const metadata = new Metadata();
  if (rpc.details.length > 0) metadata.set('grpc-status-details-bin', statusDetailsBin(rpc.code, rpc.message, rpc.details));
  return Object.assign(new Error(rpc.message), { code: rpc.code, details: rpc.message, metadata });
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
