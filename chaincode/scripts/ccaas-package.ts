// Builds the chaincode-as-a-service install package a Fabric 2.5 peer accepts:
//   <label>.tar.gz = { metadata.json, code.tar.gz = { connection.json } }
// The archives are byte-for-byte deterministic (fixed mtimes, owner and gzip header), so the package ID
// (label:sha256(package)) is known before installing and stays the same across rebuilds.
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export interface CcaasPackageOptions {
  label: string;
  /** host:port the peer dials; the chaincode server container's name on the Fabric network. */
  address: string;
  dialTimeout?: string;
  tlsRequired?: boolean;
}

/** The chaincode server's name and port on the Fabric network (docker-compose.yml service consentry-ccaas). */
export const DEFAULT_CCAAS_ADDRESS = 'consentry-ccaas:9999';
export const DEFAULT_LABEL = 'consentry_1.0';

/** Fabric's rule for chaincode package labels (core/chaincode/persistence ValidateLabel). */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header + padded body for a regular file; Fabric rejects any other entry type. */
function tarEntry(name: string, body: Buffer): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii'); // uid
  header.write(octal(0, 8), 116, 'ascii'); // gid
  header.write(octal(body.length, 12), 124, 'ascii');
  header.write(octal(0, 12), 136, 'ascii'); // mtime
  header.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  header.write('0', 156, 'ascii'); // regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK, 0);
  return Buffer.concat([header, body, padding]);
}

export function tarGz(files: { name: string; body: Buffer }[]): Buffer {
  const tar = Buffer.concat([...files.map((f) => tarEntry(f.name, f.body)), Buffer.alloc(BLOCK * 2, 0)]);
  const gz = zlib.gzipSync(tar, { level: 9 });
  gz[9] = 3; // OS field: always "Unix", whatever platform zlib was built for
  return gz;
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

export function buildCcaasPackage(opts: CcaasPackageOptions): Buffer {
  if (!LABEL.test(opts.label)) throw new Error(`invalid chaincode label "${opts.label}"`);
  if (!/^[^\s:]+:\d+$/.test(opts.address)) throw new Error(`chaincode address must be host:port, got "${opts.address}"`);
  const connection = {
    address: opts.address,
    dial_timeout: opts.dialTimeout ?? '10s',
    tls_required: opts.tlsRequired ?? false,
  };
  const code = tarGz([{ name: 'connection.json', body: json(connection) }]);
  return tarGz([
    { name: 'metadata.json', body: json({ type: 'ccaas', label: opts.label }) },
    { name: 'code.tar.gz', body: code },
  ]);
}

/** The ID `peer lifecycle chaincode install` reports: label ":" hex(sha256(package bytes)). */
export function packageId(label: string, pkg: Uint8Array): string {
  return `${label}:${crypto.createHash('sha256').update(pkg).digest('hex')}`;
}
