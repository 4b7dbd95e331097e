import fs from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';

export interface HospitalSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const ALG = 'ES256';

/** The hospital's token-signing key (ES256), created on first start under <dir>/token-signing.jwk.json (0600). */
export async function loadOrCreateSigningKey(dir: string): Promise<HospitalSigningKey> {
  const file = path.join(dir, 'token-signing.jwk.json');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...jwk, kid, alg: ALG, use: 'sig' }), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file); // first writer wins when two processes start together
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK & { kid: string };
  const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
  const { d: _d, ...publicJwk } = jwk;
  return { kid: jwk.kid, privateKey, publicJwk };
}

export const TOKEN_ALG = ALG;
