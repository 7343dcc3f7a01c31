import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { createHash, randomBytes } from 'node:crypto';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 30 ms on this class of machine.
// `Algorithm` is an ambient const enum (not importable under isolatedModules): 2 is Argon2id.
const ARGON2_OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * A password as RFC 8265's OpaqueString profile compares it: every other space (U+00A0, U+3000...)
 * as U+0020, then Unicode NFC, so "ї" typed as one character on one keyboard and as "і" plus a
 * combining diaeresis on another (or pasted from a macOS file name) is the same password.
 */
export function preparePassword(password: string): string {
  return password.replace(/\p{Zs}/gu, ' ').normalize('NFC');
}

/**
 * A password's length as its rules count it: characters (code points) of its prepared form, so
 * six accented letters typed as letter plus combining mark are six, not twelve, and an emoji one.
 */
export function passwordLength(password: string): number {
  return [...preparePassword(password)].length;
}

/** An argon2id PHC string for the password (prepared as RFC 8265 says). */
export function hashPassword(password: string): Promise<string> {
  return hash(preparePassword(password), ARGON2_OPTIONS);
}

/**
 * True when the password matches the PHC string; false (never throws) on a malformed hash. A
 * hash stored before passwords were prepared still matches the password exactly as then typed.
 */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  const prepared = preparePassword(password);
  try {
    return (await verify(passwordHash, prepared)) || (prepared !== password && (await verify(passwordHash, password)));
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;
/** A hash to verify against when the user does not exist, so that case costs the same time. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

const TOKEN_PREFIX = 'cst_';

/** A new bearer token (256 random bits) and the SHA-256 under which it is stored. */
export function newBearerToken(): { token: string; tokenHash: Buffer } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, tokenHash: hashBearerToken(token) };
}

/** Tokens are high-entropy, so a plain SHA-256 is a sufficient one-way store (unlike passwords). */
export function hashBearerToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Cheap shape check before touching the database. */
export function looksLikeBearerToken(token: string): boolean {
  return /^cst_[A-Za-z0-9_-]{43}$/.test(token);
}
