import { hash, type Algorithm } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { hashBearerToken, hashPassword, looksLikeBearerToken, newBearerToken, passwordLength, preparePassword, verifyPassword } from './secrets.js';

describe('passwords', () => {
  it('are stored as argon2id and verify only with the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored.startsWith('$argon2id$')).toBe(true);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapl')).toBe(false);
  });

  it('compares passwords as RFC 8265 prepares them: NFC, and any space as U+0020', async () => {
    const composed = 'пароль їжак\u00a02024'; // ї as one code point, a no-break space
    const decomposed = 'пароль і\u0308жак 2024'; // і + combining diaeresis, a plain space
    expect(decomposed).not.toBe(composed);
    expect(preparePassword(decomposed)).toBe(preparePassword(composed));
    const stored = await hashPassword(composed);
    expect(await verifyPassword(stored, decomposed)).toBe(true);
    expect(await verifyPassword(stored, 'пароль iжак 2024')).toBe(false); // Latin i, no diaeresis
  });

  it('counts a password in the characters of its prepared form: a combining mark adds none, an emoji is one', () => {
    // An outside audit: six accented e's typed as e + U+0301 passed the 12-character minimum.
    expect(passwordLength('e\u0301'.repeat(6))).toBe(6);
    expect(passwordLength('é'.repeat(6))).toBe(6);
    expect(passwordLength('🔥'.repeat(6))).toBe(6);
    expect(passwordLength('correct horse battery 9')).toBe(23);
  });

  it('still accepts a password exactly as typed against a hash made before passwords were prepared', async () => {
    const typed = 'і\u0308 decomposed long password';
    const legacy = await hash(typed, { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(await verifyPassword(legacy, typed)).toBe(true);
    expect(await verifyPassword(legacy, 'і\u0308 decomposed long passwor')).toBe(false);
  });

  it('does not throw on a malformed stored hash', async () => {
    expect(await verifyPassword('not-a-hash', 'whatever password')).toBe(false);
  });
});

describe('bearer tokens', () => {
  it('are random, well-formed and stored as their SHA-256', () => {
    const a = newBearerToken();
    const b = newBearerToken();
    expect(a.token).not.toBe(b.token);
    expect(looksLikeBearerToken(a.token)).toBe(true);
    expect(looksLikeBearerToken(a.token + 'x')).toBe(false);
    expect(a.tokenHash.equals(hashBearerToken(a.token))).toBe(true);
    expect(a.tokenHash.length).toBe(32);
  });
});
