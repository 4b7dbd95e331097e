import { createHash } from 'node:crypto';

export interface HeaderFields {
  number: number;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
}

/**
 * The bytes Fabric hashes for a block header (protoutil.BlockHeaderBytes): the ASN.1 DER of
 * SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }.
 */
export function blockHeaderBytes(h: HeaderFields): Buffer {
  const body = Buffer.concat([
    derTlv(0x02, derUnsignedInteger(h.number)),
    derTlv(0x04, h.previousHash),
    derTlv(0x04, h.dataHash),
  ]);
  return derTlv(0x30, body);
}

/** SHA-256 of the header's DER encoding: the block's hash, which the next block's previous_hash holds. */
export function blockHeaderHash(h: HeaderFields): Buffer {
  return createHash('sha256').update(blockHeaderBytes(h)).digest();
}

/** Fabric's BlockDataHash: SHA-256 over the concatenation of the block's data entries. */
export function blockDataHash(data: readonly Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const d of data) hash.update(d);
  return hash.digest();
}

function derUnsignedInteger(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid block number ${n}`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0] & 0x80) bytes.unshift(0); // keep it positive in two's complement
  return Buffer.from(bytes);
}

function derTlv(tag: number, content: Uint8Array): Buffer {
  const len = content.length;
  let lenBytes: number[];
  if (len < 0x80) lenBytes = [len];
  else {
    lenBytes = [];
    for (let v = len; v > 0; v = Math.floor(v / 256)) lenBytes.unshift(v % 256);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  return Buffer.concat([Buffer.from([tag, ...lenBytes]), content]);
}
