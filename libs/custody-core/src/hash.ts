import { hash } from 'node:crypto';

/** Length in bytes of every hash in the log (SHA-256). */
export const HASH_SIZE = 32;

/** Hex of the empty tree's hash, SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The empty tree's hash (Buffers cannot be frozen: the library itself compares against the hex). */
export const EMPTY_ROOT: Buffer = Buffer.from(EMPTY_ROOT_HEX, 'hex');

// One-shot hashing over a prefixed copy in a scratch buffer (synchronous, so never shared by two
// calls): a third cheaper than a Hash object per leaf, which a replay of millions of events notices.
let scratch = Buffer.alloc(4096);
function prefixed(prefix: number, ...parts: Uint8Array[]): Buffer {
  let length = 1;
  for (const part of parts) length += part.byteLength;
  if (length > scratch.length) scratch = Buffer.alloc(Math.max(length, 2 * scratch.length));
  scratch[0] = prefix;
  let at = 1;
  for (const part of parts) {
    scratch.set(part, at);
    at += part.byteLength;
  }
  return scratch.subarray(0, length);
}

/** Leaf hash of RFC 9162 §2.1.1: SHA-256(0x00 || leaf bytes). */
export function leafHash(eventBytes: Uint8Array): Buffer {
  return hash('sha256', prefixed(0x00, eventBytes), 'buffer');
}

/** Interior node hash of RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return hash('sha256', prefixed(0x01, left, right), 'buffer');
}

/** Lowercase hex of some bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const LOWER_HEX = /^(?:[0-9a-f]{2})*$/;

/** Strict lowercase-hex decoding; Buffer.from(hex) would silently stop at the first bad character. */
export function fromHex(hex: string, byteLength?: number): Buffer {
  if (typeof hex !== 'string' || !LOWER_HEX.test(hex)) {
    throw new Error('expected lowercase hex with an even number of digits');
  }
  if (byteLength !== undefined && hex.length !== byteLength * 2) {
    throw new Error(`expected ${byteLength} bytes of hex, got ${hex.length / 2}`);
  }
  return Buffer.from(hex, 'hex');
}

/** Whether a value is the lowercase hex of one 32-byte hash. */
export function isHashHex(value: unknown): value is string {
  return typeof value === 'string' && value.length === HASH_SIZE * 2 && LOWER_HEX.test(value);
}

/** Decodes the lowercase hex of one 32-byte hash, throwing on anything else. */
export function parseHash(hex: string): Buffer {
  return fromHex(hex, HASH_SIZE);
}
