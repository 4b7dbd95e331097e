export * from './errors.js';
export {
  createDecryptStream,
  createEncryptStream,
  ciphertextSize,
  DEFAULT_CHUNK_SIZE,
  generateDataKey,
} from './chunked-aead.js';
export {
  generateEncryptionKeyPair,
  openSealed,
  samePublicKey,
  sealFor,
  unwrapDataKey,
  wrapDataKey,
  type EncryptionKeyPair,
  type JWK,
  type Recipient,
  type RecipientPrivate,
} from './key-wrap.js';
export type { BlobInfo, BlobStore, PutResult } from './blobstore.js';
export { FsBlobStore, type FsBlobStoreOptions } from './fs-blobstore.js';
export { S3BlobStore, type S3BlobStoreOptions } from './s3-blobstore.js';
export { blobStoreFromEnv } from './config.js';
export { readSmall } from './read-small.js';
export {
  DocumentStore,
  recipientKeyName,
  type OpenDocumentInput,
  type StoreDocumentInput,
  type StoredDocument,
  type SweepResult,
} from './document-store.js';
