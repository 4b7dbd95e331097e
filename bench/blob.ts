// npm run bench:blob [-- --size 1GiB --chunk 256KiB --dir /tmp]
// Upload (storeDocument: read, encrypt, hash, write, fsync) and download (openDocument: hash pass, then
// read, re-hash, decrypt) of random content on the filesystem blob store, against a plain streamed file copy
// of the same bytes with fsync in the same run. MB = 10^6 bytes. Last stdout line: one JSON object.
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_CHUNK_SIZE } from '../server/documents/chunked-aead.js';
import { DocumentStore } from '../server/documents/document-store.js';
import { FsBlobStore } from '../server/documents/fs-blobstore.js';
import { generateEncryptionKeyPair } from '../server/documents/key-wrap.js';
import { round } from './stats.js';

const TARGET_MBPS = 200;
const TARGET_RSS_MB = 150;
const IO_BUFFER = 1024 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) throw new Error(`cannot read a size from ${JSON.stringify(text)}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * mult);
}

/** `size` random bytes as a stream, one reused 1 MiB buffer refilled per piece (never the whole content). */
function randomContent(size: number): Readable {
  let left = size;
  return new Readable({
    highWaterMark: IO_BUFFER,
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, IO_BUFFER);
      left -= n;
      this.push(randomFillSync(Buffer.allocUnsafe(n)));
    },
  });
}

/** A sink that only counts: stands for the network socket a download goes to. */
function countingSink(): Writable & { bytes: number } {
  const sink = new Writable({
    highWaterMark: IO_BUFFER,
    write(chunk: Buffer, _enc, cb) {
      sink.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly base = process.memoryUsage().rss;

  start(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage().rss)), 5);
  }

  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return this.peak - this.base;
  }
}

async function timed(what: string, size: number, task: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await task();
  const seconds = (performance.now() - t0) / 1000;
  const mbps = size / 1e6 / seconds;
  console.log(`${what.padEnd(10)} ${round(seconds, 2)} s  ${round(mbps, 1)} MB/s`);
  return mbps;
}

async function main(): Promise<void> {
  const size = parseBytes(arg('size') ?? '1GiB');
  const chunkSize = parseBytes(arg('chunk') ?? String(DEFAULT_CHUNK_SIZE));
  const dir = mkdtempSync(join(arg('dir') ?? tmpdir(), 'consentry-bench-blob-'));
  try {
    const source = join(dir, 'source.bin');
    await pipeline(randomContent(size), createWriteStream(source, { highWaterMark: IO_BUFFER }));
    const [patient, author] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    const docs = new DocumentStore(new FsBlobStore(join(dir, 'store')), { chunkSize });
    console.log(`content ${size} bytes, chunk ${chunkSize} bytes, in ${dir}`);

    (globalThis as { gc?: () => void }).gc?.();
    const rss = new RssSampler();
    rss.start();

    const copyMBps = await timed('copy', size, () =>
      pipeline(
        createReadStream(source, { highWaterMark: IO_BUFFER }),
        createWriteStream(join(dir, 'copy.bin'), { highWaterMark: IO_BUFFER, flush: true }),
      ),
    );

    let stored!: Awaited<ReturnType<DocumentStore['storeDocument']>>;
    const uploadMBps = await timed('upload', size, async () => {
      stored = await docs.storeDocument({
        patient: 'bench-patient',
        documentId: 'bench-document',
        content: createReadStream(source, { highWaterMark: IO_BUFFER }),
        recipients: [
          { id: 'Patient/bench', publicJwk: patient.publicJwk },
          { id: 'Practitioner/bench', publicJwk: author.publicJwk },
        ],
      });
    });

    const sink = countingSink();
    const downloadMBps = await timed('download', size, async () => {
      const opened = await docs.openDocument({
        blobKey: stored.blobKey,
        expectedSha256: stored.ciphertextSha256,
        recipient: { id: 'Patient/bench', privateKey: patient.privateJwk },
      });
      await pipeline(opened.stream, sink);
    });
    if (sink.bytes !== size || stored.size !== size) throw new Error(`size mismatch: ${sink.bytes} / ${stored.size} vs ${size}`);
    const rssGrowthMB = rss.stop() / 1e6;

    const result = {
      bench: 'blob',
      store: 'fs',
      sizeBytes: size,
      chunkSize,
      storedBytes: stored.storedSize,
      copyMBps: round(copyMBps, 1),
      uploadMBps: round(uploadMBps, 1),
      downloadMBps: round(downloadMBps, 1),
      uploadVsCopy: round(uploadMBps / copyMBps, 3),
      downloadVsCopy: round(downloadMBps / copyMBps, 3),
      peakRssGrowthMB: round(rssGrowthMB, 1),
      targets: { minMBps: TARGET_MBPS, maxRssGrowthMB: TARGET_RSS_MB },
      pass: uploadMBps >= TARGET_MBPS && downloadMBps >= TARGET_MBPS && rssGrowthMB <= TARGET_RSS_MB,
    };
    console.log(`peak RSS growth ${round(rssGrowthMB, 1)} MB; upload ${result.uploadVsCopy}× copy, download ${result.downloadVsCopy}× copy`);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
