/**
 * Wrapping of document data keys for recipients (DESIGN §6): compact JWE, ECDH-ES+A256KW / A256GCM to the
 * recipient's P-256 encryption key. The wrapped key may name the document it belongs to (protected header
 * `doc`), so a wrapped key copied next to another document is refused.
 */
import { generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  CompactEncrypt,
  compactDecrypt,
  decodeProtectedHeader,
  importJWK,
  type CompactJWEHeaderParameters,
  type JWK,
} from 'jose';
import { DATA_KEY_LENGTH } from './chunked-aead.js';
import { IntegrityError, NoKeyError } from './errors.js';

export type { JWK } from 'jose';

export const KEY_WRAP_ALG = 'ECDH-ES+A256KW';
export const KEY_WRAP_ENC = 'A256GCM';

export interface Recipient {
  /** Stable identifier of the user (e.g. the ledger identity); becomes the JWE `kid`. */
  id: string;
  /** EC P-256 public JWK (`kty`, `crv`, `x`, `y`); any private part is ignored. */
  publicJwk: JWK;
}

export interface RecipientPrivate {
  id: string;
  privateKey: KeyObject | JWK;
}

export interface EncryptionKeyPair {
  publicJwk: JWK;
  privateJwk: JWK;
}

const generateKeyPair = promisify(generateKeyPairCb);

function publicPart(jwk: JWK): JWK {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new TypeError('recipient key must be an EC P-256 JWK');
  }
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

/** Do two EC public keys (or a missing one) name the same point? */
export function samePublicKey(a: JWK | undefined, b: JWK): boolean {
  return a !== undefined && a.crv === b.crv && a.x === b.x && a.y === b.y;
}

export async function generateEncryptionKeyPair(): Promise<EncryptionKeyPair> {
  const { privateKey } = await generateKeyPair('ec', { namedCurve: 'P-256' });
  const privateJwk = privateKey.export({ format: 'jwk' }) as JWK;
  return {
    publicJwk: { ...publicPart(privateJwk), use: 'enc', alg: KEY_WRAP_ALG },
    privateJwk: { ...privateJwk, use: 'enc', alg: KEY_WRAP_ALG },
  };
}

export async function wrapDataKey(
  dataKey: Uint8Array,
  recipient: Recipient,
  context: { document?: string } = {},
): Promise<string> {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new TypeError(`data key must be ${DATA_KEY_LENGTH} bytes`);
  if (!recipient.id) throw new TypeError('recipient id is required');
  const publicKey = await importJWK(publicPart(recipient.publicJwk), KEY_WRAP_ALG);
  const header: CompactJWEHeaderParameters = { alg: KEY_WRAP_ALG, enc: KEY_WRAP_ENC, kid: recipient.id };
  if (context.document !== undefined) header.doc = context.document;
  return new CompactEncrypt(dataKey).setProtectedHeader(header).encrypt(publicKey);
}

/**
 * Unwraps a data key. A JWE that this private key cannot open → NoKeyError('unwrap-failed'); a JWE for another
 * document than `context.document`, or one not holding a 256-bit key → IntegrityError.
 */
export async function unwrapDataKey(
  jwe: string,
  privateKey: KeyObject | JWK,
  context: { document?: string } = {},
): Promise<Buffer> {
  let plaintext: Uint8Array;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (err) {
    throw new IntegrityError('wrapped key is not a compact JWE', { cause: err });
  }
  if (context.document !== undefined && header.doc !== context.document) {
    throw new IntegrityError('wrapped key belongs to another document');
  }
  try {
    ({ plaintext } = await compactDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: [KEY_WRAP_ALG],
      contentEncryptionAlgorithms: [KEY_WRAP_ENC],
    }));
  } catch (err) {
    throw new NoKeyError('the wrapped data key cannot be opened with this private key', 'unwrap-failed', {
      cause: err,
    });
  }
  if (plaintext.length !== DATA_KEY_LENGTH) throw new IntegrityError('wrapped key has the wrong length');
  return Buffer.from(plaintext);
}

/**
 * Small content (not a data key) encrypted straight to one recipient, as a compact JWE with the same algorithms;
 * `context` entries become protected header members that `openSealed` requires to match.
 */
export async function sealFor(recipient: Recipient, plaintext: Uint8Array, context: Record<string, string> = {}): Promise<string> {
  if (!recipient.id) throw new TypeError('recipient id is required');
  const publicKey = await importJWK(publicPart(recipient.publicJwk), KEY_WRAP_ALG);
  const header: CompactJWEHeaderParameters = { ...context, alg: KEY_WRAP_ALG, enc: KEY_WRAP_ENC, kid: recipient.id };
  return new CompactEncrypt(plaintext).setProtectedHeader(header).encrypt(publicKey);
}

/** Opens what sealFor made: another recipient's JWE → NoKeyError('unwrap-failed'); a mismatched context → IntegrityError. */
export async function openSealed(jwe: string, privateKey: KeyObject | JWK, context: Record<string, string> = {}): Promise<Buffer> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwe) as Record<string, unknown>;
  } catch (err) {
    throw new IntegrityError('sealed content is not a compact JWE', { cause: err });
  }
  for (const [name, value] of Object.entries(context)) {
    if (header[name] !== value) throw new IntegrityError(`sealed content belongs to another ${name}`);
  }
  try {
    const { plaintext } = await compactDecrypt(jwe, privateKey, { keyManagementAlgorithms: [KEY_WRAP_ALG], contentEncryptionAlgorithms: [KEY_WRAP_ENC] });
    return Buffer.from(plaintext);
  } catch (err) {
    throw new NoKeyError('the sealed content cannot be opened with this private key', 'unwrap-failed', { cause: err });
  }
}
