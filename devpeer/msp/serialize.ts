import { msp } from '@hyperledger/fabric-protos';

/** msp.SerializedIdentity bytes: what Fabric puts in signature headers as the creator. */
export function serializeIdentity(mspId: string, certPem: string): Uint8Array {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(mspId);
  sid.setIdBytes(Buffer.from(certPem, 'utf8'));
  return sid.serializeBinary();
}
