import { InvalidBlobHashError } from './errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True when `value` is a SHA-256 written as 64 lowercase hex digits, the only form blobs are named by. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/** Throws InvalidBlobHashError unless `value` is 64 lowercase hex digits; call before building any path or key. */
export function assertSha256Hex(value: unknown): asserts value is string {
  if (!isSha256Hex(value)) throw new InvalidBlobHashError(value);
}

/** The store-relative key of a blob, `sha256/ab/cd/<hex>`: two fan-out levels keep directories small. */
export function contentKey(sha256: string): string {
  assertSha256Hex(sha256);
  return `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}
