/**
 * Errors of the documents room. The FHIR layer maps them to HTTP statuses:
 * IntegrityError → 5xx (never the bytes), NoKeyError → the caller may not decrypt,
 * BlobStoreUnavailableError → 503, BlobNotFoundError → 404 / missing content,
 * ContentTooLargeError → 413.
 */

/** Stored content or its encryption failed verification: tampered, truncated, reordered or mismatched. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** No usable wrapped data key for this recipient: none stored, or the private key does not open it. */
export class NoKeyError extends Error {
  override readonly name = 'NoKeyError';
  constructor(
    message: string,
    readonly reason: 'missing' | 'unwrap-failed',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Any blob store failure that is not one of the more specific ones below. */
export class BlobStoreError extends Error {
  override name = 'BlobStoreError';
}

/** The store is down, unreachable, timing out, throttling or out of space; retrying later may work. */
export class BlobStoreUnavailableError extends BlobStoreError {
  override name = 'BlobStoreUnavailableError';
}

export class BlobNotFoundError extends BlobStoreError {
  override name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
  }
}

/** A key that is empty, too long, or has an empty, `.` or `..` segment or characters outside [A-Za-z0-9._-]. */
export class InvalidBlobKeyError extends BlobStoreError {
  override name = 'InvalidBlobKeyError';
}

/** The content exceeded the caller's size limit; nothing was stored. */
export class ContentTooLargeError extends Error {
  override readonly name = 'ContentTooLargeError';
  constructor(readonly limit: number) {
    super(`content exceeds the limit of ${limit} bytes`);
  }
}

/** storeDocument was asked to write a document whose content already exists; documents are immutable. */
export class DocumentExistsError extends Error {
  override readonly name = 'DocumentExistsError';
  constructor(readonly blobKey: string) {
    super(`document already stored: ${blobKey}`);
  }
}
