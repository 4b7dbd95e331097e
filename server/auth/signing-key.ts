import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';

export interface HospitalSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** the private key as a JWK (with kid, alg, use), for the authorization server's keystore */
  privateJwk: JWK & { kid: string };
}

const ALG = 'ES256';

/** The hospital's token-signing key (ES256), created on first start under <dir>/token-signing.jwk.json (0600). */
export async function loadOrCreateSigningKey(dir: string): Promise<HospitalSigningKey> {
  return loadOrCreateKey(dir, 'token-signing.jwk.json', ALG);
}

/** A signing key pair kept as a private JWK in <dir>/<file> (0600), made on first use. */
export async function loadOrCreateKey(dir: string, file: string, alg: 'ES256' | 'RS256'): Promise<HospitalSigningKey> {
  const jwk = await loadOrCreateFile(path.join(dir, file), async () => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const kid = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    return JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg, use: 'sig' });
  });
  const privateJwk = JSON.parse(jwk) as JWK & { kid: string };
  const privateKey = (await importJWK(privateJwk, alg)) as CryptoKey;
  const publicJwk: JWK = publicPart(privateJwk);
  return { kid: privateJwk.kid, privateKey, publicJwk, privateJwk };
}

/** A 256-bit secret kept in <dir>/<file> (0600), made on first use. */
export async function loadOrCreateSecret(dir: string, file: string): Promise<Buffer> {
  return Buffer.from(await loadOrCreateFile(path.join(dir, file), async () => crypto.randomBytes(32).toString('base64url')), 'base64url');
}

async function loadOrCreateFile(file: string, make: () => Promise<string>): Promise<string> {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, await make(), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file); // first writer wins when two processes start together
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

export const TOKEN_ALG = ALG;
