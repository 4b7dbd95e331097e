// Ledger start-up at scale: commits BLOCKS × TXS realistic endorser transactions (~2.5 KB envelopes:
// creator and endorser certificates, signatures, a read-write set with composite keys and JSON values,
// a chaincode event) straight into the devpeer ledger, then measures opening it again
//   - from its snapshot (clean shutdown),
//   - with no snapshot at all (full replay of every block, the worst case after a crash),
// and a full `verifyLedger`. The last stdout line is one JSON object with the figures.
//
//   npx tsx bench/ledger-startup.ts [--blocks 1000] [--txs 100] [--dir PATH] [--keep]
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { ByteWriter } from '../devpeer/ledger/bytewriter.js';
import { openLedger, verifyLedger, type FileLedger } from '../devpeer/ledger/index.js';
import { removeSnapshotFile } from '../devpeer/ledger/snapshot.js';

const CHANNEL = 'consent';
const CC = 'consent';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

// --- a minimal protobuf encoder, so that generating 100,000 envelopes takes seconds, not minutes ---
type Field = [num: number, value: Uint8Array | string | number | boolean | undefined];
function msg(...fields: Field[]): Buffer {
  const w = new ByteWriter(256);
  for (const [num, v] of fields) {
    if (v === undefined || v === 0 || v === false || v === '') continue;
    if (typeof v === 'number' || typeof v === 'boolean') w.varint((num << 3) | 0).varint(Number(v));
    else if (typeof v === 'string') w.varint((num << 3) | 2).string(v);
    else w.varint((num << 3) | 2).bytes(v);
  }
  return Buffer.from(w.view());
}

const CERT = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'MIICKzCCAdGgAwIBAgIUdR3xV8Jz'.repeat(19)}\n-----END CERTIFICATE-----\n`);
const creator = msg([1, 'HospitalAMSP'], [2, CERT]);
const endorser = msg([1, 'HospitalAMSP'], [2, CERT]);

interface Read {
  key: string;
  version?: { blockNum: number; txNum: number };
}

function envelope(reads: Read[], writes: { key: string; value: string }[], event: string): Uint8Array {
  const nonce = randomBytes(24);
  const txId = createHash('sha256').update(nonce).update(creator).digest('hex');
  const now = Date.now();
  const ccId = msg([2, CC], [3, '1.0']);
  const channelHeader = msg(
    [1, common.HeaderType.ENDORSER_TRANSACTION],
    [3, msg([1, Math.floor(now / 1000)], [2, (now % 1000) * 1e6])],
    [4, CHANNEL],
    [5, txId],
    [7, msg([2, ccId])],
  );
  const sigHeader = msg([1, creator], [2, nonce]);
  const kv = new ByteWriter(1024);
  for (const r of reads) {
    const version = r.version ? msg([1, r.version.blockNum], [2, r.version.txNum]) : undefined;
    kv.varint((1 << 3) | 2).bytes(msg([1, r.key], [2, version]));
  }
  for (const w of writes) kv.varint((3 << 3) | 2).bytes(msg([1, w.key], [3, Buffer.from(w.value)]));
  const rwset = msg([1, 0], [2, msg([1, CC], [2, Buffer.from(kv.view())])]);
  const ccEvent = msg([1, CC], [2, txId], [3, 'PermissionGranted'], [4, Buffer.from(event)]);
  const action = msg([1, rwset], [2, ccEvent], [3, msg([1, 200], [3, Buffer.from('{"ok":true}')])], [4, ccId]);
  const prp = msg([1, randomBytes(32)], [2, action]);
  const endorsed = msg([1, prp], [2, msg([1, endorser], [2, randomBytes(71)])]);
  const input = msg([1, msg([2, ccId], [3, msg([1, Buffer.from('GrantPermission')], [1, Buffer.from(event)])])]);
  const cap = msg([1, msg([1, input])], [2, endorsed]);
  const tx = msg([1, msg([1, sigHeader], [2, cap])]);
  const payload = msg([1, msg([1, channelHeader], [2, sigHeader])], [2, tx]);
  return msg([1, payload], [2, randomBytes(71)]);
}

function permissionJson(patient: number, n: number, version: number): string {
  return JSON.stringify({
    id: `perm-${patient}-${n}`,
    patient: `p${patient.toString(36).padStart(8, '0')}`,
    grantee: { kind: 'practitioner', id: `HospitalBMSP/Practitioner/${(patient * 7) % 10000}` },
    rights: ['read', 'write'],
    categories: ['lab-results', 'imaging', 'history-physical'],
    from: '2025-01-01T00:00:00Z',
    to: '2026-01-01T00:00:00Z',
    purpose: 'TREAT',
    grantedBy: 'x509::CN=patient,OU=client::CN=ca.hospitala',
    timestamp: new Date(1735689600000 + version * 1000).toISOString(),
    status: version % 5 === 4 ? 'revoked' : 'active',
  });
}

async function generate(ledger: FileLedger, blocks: number, txs: number): Promise<{ ms: number; envelopeBytes: number }> {
  const t0 = performance.now();
  let bytes = 0;
  let seq = 0;
  for (let b = 0; b < blocks; b++) {
    const envs: Uint8Array[] = [];
    for (let t = 0; t < txs; t++) {
      seq++;
      // Distinct patients inside a block, revisited across blocks: reads carry the committed versions.
      const patient = (b * txs + t) % 20000;
      const patientKey = `\u0000patient\u0000p${patient}\u0000`;
      const permKey = `\u0000permission\u0000p${patient}\u0000perm-${seq % 3}\u0000`;
      const reads: Read[] = [
        { key: patientKey, version: ledger.getState(CC, patientKey)?.version },
        { key: permKey, version: ledger.getState(CC, permKey)?.version },
      ];
      const value = permissionJson(patient, seq % 3, seq);
      const writes = [{ key: permKey, value }];
      if (!reads[0].version) writes.push({ key: patientKey, value: JSON.stringify({ pseudonym: `p${patient}`, status: 'active' }) });
      const env = envelope(reads, writes, value.slice(0, 200));
      bytes += env.length;
      envs.push(env);
    }
    await ledger.commitBlock(envs);
  }
  return { ms: performance.now() - t0, envelopeBytes: bytes };
}

async function main(): Promise<void> {
  const blocks = Number(arg('blocks', '1000'));
  const txs = Number(arg('txs', '100'));
  const dir = arg('dir', '') || join(mkdtempSync(join(tmpdir(), 'ledger-startup-')), CHANNEL);
  const keep = process.argv.includes('--keep');
  const log = (m: string) => console.log(`  [ledger] ${m}`);

  console.log(`ledger start-up bench: ${blocks} blocks × ${txs} transactions in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  let ledger = await openLedger({ dir, channel: CHANNEL, log, snapshotEveryTxs: 0, snapshotOnClose: false });
  const gen = await generate(ledger, blocks, txs);
  const committed = blocks * txs;
  const info = { height: ledger.height(), keys: ledger.stateKeyCount() };
  await ledger.close();
  const fileMB = statSync(join(dir, 'blocks.dat')).size / 1e6;
  console.log(
    `generated and committed ${committed} transactions in ${(gen.ms / 1000).toFixed(1)} s ` +
      `(${Math.round(committed / (gen.ms / 1000))} tx/s at ${txs} tx/block), average envelope ` +
      `${Math.round(gen.envelopeBytes / committed)} B, block file ${fileMB.toFixed(1)} MB, ${info.keys} state keys`,
  );

  // Worst case: no snapshot (e.g. SIGKILL before the first one): verify every block and replay all.
  removeSnapshotFile(dir);
  const t1 = performance.now();
  ledger = await openLedger({ dir, channel: CHANNEL, log, snapshotEveryTxs: 0, snapshotOnClose: false });
  const replayMs = performance.now() - t1;
  const replay = ledger.startup;
  console.log(`start-up with full replay: ${replayMs.toFixed(0)} ms (${replay.replayedTransactions} transactions replayed)`);
  await ledger.snapshot();
  await ledger.close();

  const t2 = performance.now();
  ledger = await openLedger({ dir, channel: CHANNEL, log, snapshotEveryTxs: 0, snapshotOnClose: false });
  const snapMs = performance.now() - t2;
  const fromSnap = ledger.startup;
  const sameTip = Buffer.from(ledger.chainInfo().currentBlockHash).toString('hex');
  await ledger.close();
  const snapMB = statSync(join(dir, 'state.snapshot')).size / 1e6;
  console.log(`start-up from snapshot at height ${fromSnap.snapshotHeight}: ${snapMs.toFixed(0)} ms (snapshot ${snapMB.toFixed(1)} MB)`);

  const t3 = performance.now();
  const verified = await verifyLedger(dir);
  const verifyMs = performance.now() - t3;
  console.log(`verifyLedger: ${verified.ok ? 'ok' : 'FAILED'} in ${verifyMs.toFixed(0)} ms — ${verified.message}`);

  if (!keep) rmSync(join(dir, '..'), { recursive: true, force: true });
  const figures = {
    bench: 'ledger-startup',
    blocks: info.height,
    transactions: committed,
    avgEnvelopeBytes: Math.round(gen.envelopeBytes / committed),
    blockFileMB: Number(fileMB.toFixed(1)),
    stateKeys: info.keys,
    commitTxPerSec: Math.round(committed / (gen.ms / 1000)),
    startupFullReplayMs: Math.round(replayMs),
    startupFromSnapshotMs: Math.round(snapMs),
    snapshotMB: Number(snapMB.toFixed(1)),
    verifyMs: Math.round(verifyMs),
    verifyOk: verified.ok,
    validTransactions: verified.validTransactions,
    tip: sameTip.slice(0, 16),
    targetMs: 5000,
    meetsTarget: Math.max(replayMs, snapMs) <= 5000,
  };
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
