import { common } from '@hyperledger/fabric-protos';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { blockDataHash } from './blockhash.js';
import { buildBlock } from './block.js';
import { Code } from './codes.js';
import { nextCommitHash } from './commithash.js';
import { UpdateBatch } from './updatebatch.js';

export interface GenesisOptions {
  /** organizations listed in the channel's Application group */
  mspIds?: readonly string[];
  time?: Date;
}

/**
 * The channel's config envelope: HeaderType CONFIG carrying a ConfigEnvelope with a minimal channel
 * group (an Application group with one sub-group per organization). Clients never validate it.
 */
export function buildGenesisEnvelope(channel: string, opts: GenesisOptions = {}): Uint8Array {
  const application = new common.ConfigGroup();
  application.setModPolicy('Admins');
  for (const msp of opts.mspIds ?? []) {
    const org = new common.ConfigGroup();
    org.setModPolicy('Admins');
    application.getGroupsMap().set(msp, org);
  }
  const channelGroup = new common.ConfigGroup();
  channelGroup.setModPolicy('Admins');
  channelGroup.getGroupsMap().set('Application', application);
  const config = new common.Config();
  config.setSequence(0);
  config.setChannelGroup(channelGroup);
  const configEnvelope = new common.ConfigEnvelope();
  configEnvelope.setConfig(config);

  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.CONFIG);
  ch.setChannelId(channel);
  ch.setTimestamp(timestampPb.Timestamp.fromDate(opts.time ?? new Date()));
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(new common.SignatureHeader().serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(configEnvelope.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  return env.serializeBinary();
}

/** Block 0 of a channel: the config envelope, an empty previous hash, VALID in its filter. */
export function buildGenesisBlock(channel: string, opts: GenesisOptions = {}): { block: Uint8Array; commitHash: Buffer } {
  const envelope = buildGenesisEnvelope(channel, opts);
  const txFilter = Uint8Array.of(Code.VALID);
  const commitHash = nextCommitHash(new Uint8Array(0), txFilter, new UpdateBatch());
  const block = buildBlock({
    number: 0,
    previousHash: new Uint8Array(0),
    dataHash: blockDataHash([envelope]),
    envelopes: [envelope],
    txFilter,
    commitHash,
  });
  return { block, commitHash };
}
