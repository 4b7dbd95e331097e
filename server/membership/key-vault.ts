import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';

/**
 * The hospital's key-encryption key (DESIGN §6): what a cloud KMS implements (AWS KMS Encrypt/Decrypt with an
 * encryption context, Google Cloud KMS with additional authenticated data, ...). `context` is authenticated, not
 * secret: a wrapped key only unwraps for the owner and purpose it was wrapped for.
 */
export interface KeyEncryptionService {
  /** names the key-encryption key, stored with every wrapped key */
  readonly id: string;
  wrapKey(plaintext: Uint8Array, context: string): Promise<Uint8Array>;
  unwrapKey(wrapped: Uint8Array, context: string): Promise<Uint8Array>;
}

const PREFIX = 'kv1';
const SEALED_RE = /^kv1:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]+)$/;

export class KeyVaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyVaultError';
  }
}

/** The default key-encryption key: 256 bits in a local file (0600), AES-256-GCM with the context as AAD. */
export class LocalKeyFile implements KeyEncryptionService {
  readonly id: string;

  private constructor(private readonly key: Buffer) {
    this.id = crypto.createHash('sha256').update('consentry key-encryption key\0').update(key).digest('base64url').slice(0, 16);
  }

  /** Loads `file`, creating it on first start (first writer wins when two processes start together). */
  static open(file: string): LocalKeyFile {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
    if (key.length !== 32) throw new KeyVaultError(`${file} does not hold a 256-bit key-encryption key`);
    return new LocalKeyFile(key);
  }

  async wrapKey(plaintext: Uint8Array, context: string): Promise<Uint8Array> {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
  }

  async unwrapKey(wrapped: Uint8Array, context: string): Promise<Uint8Array> {
    const buf = Buffer.from(wrapped);
    if (buf.length < 29) throw new KeyVaultError('wrapped key is truncated');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    try {
      return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]);
    } catch {
      throw new KeyVaultError(`wrapped key does not open for ${context}`);
    }
  }
}

/** Wrapping contexts: a sealed key opens only as the key it was sealed as. */
export const vaultContext = {
  userSigningKey: (username: string) => `user/${username}/signing-key`,
  userEncryptionKey: (username: string) => `user/${username}/encryption-key`,
  hospitalKey: (name: string) => `hospital-key/${name}`,
};

const MAX_OPENED = 10_000;

/**
 * Private keys at rest: sealed as `kv1:<kek id>:<base64url wrapped>` under the hospital's key-encryption key.
 * Opened keys are remembered by their sealed text (which changes whenever the key does) so a remote KMS is not
 * asked on every read.
 */
export class KeyVault {
  private readonly opened = new Map<string, Buffer>();

  constructor(readonly kek: KeyEncryptionService) {}

  static isSealed(value: unknown): boolean {
    return typeof value === 'string' && SEALED_RE.test(value);
  }

  /** The key-encryption key id a sealed value names. */
  static kekIdOf(sealed: string): string | undefined {
    return SEALED_RE.exec(sealed)?.[1];
  }

  async seal(plaintext: string | Uint8Array, context: string): Promise<string> {
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const wrapped = await this.kek.wrapKey(bytes, context);
    return `${PREFIX}:${this.kek.id}:${Buffer.from(wrapped).toString('base64url')}`;
  }

  async open(sealed: string, context: string): Promise<Buffer> {
    const memo = this.opened.get(`${context}\0${sealed}`);
    if (memo) return memo;
    const m = SEALED_RE.exec(sealed);
    if (!m) throw new KeyVaultError(`the key for ${context} is not sealed by the key vault`);
    if (m[1] !== this.kek.id) throw new KeyVaultError(`the key for ${context} is sealed under key-encryption key ${m[1]}, not ${this.kek.id}`);
    const plaintext = Buffer.from(await this.kek.unwrapKey(Buffer.from(m[2], 'base64url'), context));
    if (this.opened.size >= MAX_OPENED) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(`${context}\0${sealed}`, plaintext);
    return plaintext;
  }

  sealJwk(jwk: JWK, context: string): Promise<string> {
    return this.seal(JSON.stringify(jwk), context);
  }

  async openJwk(sealed: string, context: string): Promise<JWK> {
    return JSON.parse((await this.open(sealed, context)).toString('utf8')) as JWK;
  }

  async openPem(sealed: string, context: string): Promise<crypto.KeyObject> {
    return crypto.createPrivateKey((await this.open(sealed, context)).toString('utf8'));
  }
}
