/** Anything that went wrong building, fetching or reading a time-stamp. */
export class TimestampError extends Error {
  override name = 'TimestampError';
}

/** Dotted OID of SHA-256, the only hash our requests use. */
export const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** Big enough for a token with a certificate chain, small enough that a hostile server cannot flood us. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
