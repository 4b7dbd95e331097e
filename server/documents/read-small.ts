import type { Readable } from 'node:stream';
import { IntegrityError } from './errors.js';

/** A small blob (a sealed key, demographics, disclosures) as text; anything over `limit` bytes is refused as tampered. */
export async function readSmall(stream: Readable, limit: number, what: string): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      stream.destroy();
      throw new IntegrityError(`${what} is implausibly large`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
