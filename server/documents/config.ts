/** Chooses the blob store from the environment (issue 3: BLOB_STORE, S3_*). */
import { join } from 'node:path';
import type { BlobStore } from './blobstore.js';
import { FsBlobStore } from './fs-blobstore.js';
import { S3BlobStore } from './s3-blobstore.js';

/**
 * `BLOB_STORE=fs` (default): files under `BLOB_DIR`, else `<dataDir>/blobs`.
 * `BLOB_STORE=s3`: `S3_BUCKET` (required), `S3_REGION` (default us-east-1), `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`
 * (default true when an endpoint is set), credentials from `S3_ACCESS_KEY_ID`/`S3_SECRET_ACCESS_KEY`
 * or else the AWS SDK's default chain (AWS_* variables, profiles, instance roles).
 */
export function blobStoreFromEnv(env: NodeJS.ProcessEnv, dataDir: string): BlobStore {
  const kind = (env.BLOB_STORE ?? 'fs').toLowerCase();
  if (kind === 'fs') return new FsBlobStore(env.BLOB_DIR ?? join(dataDir, 'blobs'));
  if (kind !== 's3') throw new Error(`BLOB_STORE must be fs or s3, not ${JSON.stringify(env.BLOB_STORE)}`);
  const bucket = env.S3_BUCKET;
  if (!bucket) throw new Error('BLOB_STORE=s3 needs S3_BUCKET');
  const endpoint = env.S3_ENDPOINT || undefined;
  const pathStyle = env.S3_FORCE_PATH_STYLE;
  return new S3BlobStore({
    bucket,
    region: env.S3_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true' || pathStyle === '1',
    ...(env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.S3_ACCESS_KEY_ID,
            secretAccessKey: env.S3_SECRET_ACCESS_KEY,
            ...(env.S3_SESSION_TOKEN ? { sessionToken: env.S3_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  });
}
