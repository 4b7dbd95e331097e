import { common } from '@hyperledger/fabric-protos';
import { WIRE_LEN, WIRE_VARINT, WireReader, expectWire } from './protowire.js';

const MD = common.BlockMetadataIndex;
/** Fabric blocks carry one metadata entry per BlockMetadataIndex value (SIGNATURES … COMMIT_HASH). */
const METADATA_ENTRIES = MD.COMMIT_HASH + 1;

export interface BlockParts {
  number: number;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
  envelopes: readonly Uint8Array[];
  /** one peer.TxValidationCode per transaction */
  txFilter: Uint8Array;
  commitHash: Uint8Array;
}

/** Serializes a common.Block with Fabric's metadata layout. */
export function buildBlock(p: BlockParts): Uint8Array {
  const header = new common.BlockHeader();
  header.setNumber(p.number);
  header.setPreviousHash(p.previousHash);
  header.setDataHash(p.dataHash);

  const data = new common.BlockData();
  data.setDataList(p.envelopes as Uint8Array[]);

  // The only config block is the genesis block, so the last config index is always 0.
  const lastConfig = new common.LastConfig();
  lastConfig.setIndex(0);
  const ordererMd = new common.OrdererBlockMetadata();
  ordererMd.setLastConfig(lastConfig);

  const entries: Uint8Array[] = new Array(METADATA_ENTRIES).fill(new Uint8Array(0));
  entries[MD.SIGNATURES] = metadata(ordererMd.serializeBinary());
  entries[MD.LAST_CONFIG] = metadata(lastConfig.serializeBinary());
  entries[MD.TRANSACTIONS_FILTER] = p.txFilter;
  entries[MD.COMMIT_HASH] = metadata(p.commitHash);
  const md = new common.BlockMetadata();
  md.setMetadataList(entries);

  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(md);
  return block.serializeBinary();
}

function metadata(value: Uint8Array): Uint8Array {
  const m = new common.Metadata();
  m.setValue(value);
  return m.serializeBinary();
}

/** A serialized block, located but not copied: every Buffer is a view into the input. */
export interface ScannedBlock {
  number: number;
  previousHash: Buffer;
  dataHash: Buffer;
  data: Buffer[];
  /** [start, end) of each data entry inside the serialized block */
  dataOffsets: number[];
  metadata: Buffer[];
}

/** Walks a serialized common.Block (header = 1, data = 2, metadata = 3). Throws WireError if malformed. */
export function scanBlock(bytes: Uint8Array): ScannedBlock {
  const out: ScannedBlock = {
    number: 0,
    previousHash: Buffer.alloc(0),
    dataHash: Buffer.alloc(0),
    data: [],
    dataOffsets: [],
    metadata: [],
  };
  const r = WireReader.of(bytes);
  while (r.more()) {
    const t = r.tag();
    const f = t >>> 3;
    if (f < 1 || f > 3) {
      r.skip(t);
      continue;
    }
    expectWire(t, WIRE_LEN);
    const m = r.message();
    while (m.more()) {
      const mt = m.tag();
      const mf = mt >>> 3;
      if (f === 1 && mf === 1) {
        expectWire(mt, WIRE_VARINT);
        out.number = m.varint();
      } else if (f === 1 && (mf === 2 || mf === 3)) {
        expectWire(mt, WIRE_LEN);
        if (mf === 2) out.previousHash = m.bytes();
        else out.dataHash = m.bytes();
      } else if ((f === 2 || f === 3) && mf === 1) {
        expectWire(mt, WIRE_LEN);
        const [s, e] = m.lenRange();
        if (f === 2) {
          out.data.push(m.buf.subarray(s, e));
          out.dataOffsets.push(s, e);
        } else out.metadata.push(m.buf.subarray(s, e));
      } else m.skip(mt);
    }
  }
  return out;
}

/** The value of a common.Metadata entry (field 1), e.g. the commit hash. */
export function metadataValue(entry: Uint8Array | undefined): Buffer {
  if (!entry) return Buffer.alloc(0);
  const r = WireReader.of(entry);
  while (r.more()) {
    const t = r.tag();
    if (t >>> 3 === 1) {
      expectWire(t, WIRE_LEN);
      return r.bytes();
    }
    r.skip(t);
  }
  return Buffer.alloc(0);
}

export function txFilterOf(block: ScannedBlock): Buffer {
  return block.metadata[MD.TRANSACTIONS_FILTER] ?? Buffer.alloc(0);
}

export function commitHashOf(block: ScannedBlock): Buffer {
  return metadataValue(block.metadata[MD.COMMIT_HASH]);
}
