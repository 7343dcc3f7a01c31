/** The upload went past the size limit; it was stopped there and nothing was kept. */
export class BlobTooLargeError extends Error {
  override readonly name = 'BlobTooLargeError';

  constructor(readonly maxBytes: number) {
    super(`the upload is larger than the limit of ${maxBytes} bytes; it was stopped and nothing was stored`);
  }
}

/** No blob is stored under this hash. */
export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';

  constructor(readonly sha256: string) {
    super(`no blob is stored under sha256 ${sha256}`);
  }
}

/** A blob was named by something other than 64 lowercase hex digits; no path was touched. */
export class InvalidBlobHashError extends TypeError {
  override readonly name = 'InvalidBlobHashError';

  constructor(value: unknown) {
    super(`a blob is named by the 64 lowercase hex digits of its SHA-256; got ${describe(value)}`);
  }
}

/** The requested byte range does not lie inside the blob (an HTTP API answers 416). */
export class BlobRangeError extends RangeError {
  override readonly name = 'BlobRangeError';

  constructor(
    readonly range: { start: number; end: number },
    readonly sizeBytes: number,
  ) {
    super(
      `bytes ${describe(range.start)}-${describe(range.end)} are not a range inside a blob of ${sizeBytes} bytes; ` +
        'ask for 0 <= start <= end < size',
    );
  }
}

/** The store cannot take blobs now (readiness fails); the cause says why. */
export class BlobStoreUnavailableError extends Error {
  override readonly name = 'BlobStoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// Hostile input ends up in messages and logs: quote it and keep it short.
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
