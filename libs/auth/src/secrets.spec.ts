import { describe, expect, it } from 'vitest';
import { hashBearerToken, hashPassword, looksLikeBearerToken, newBearerToken, verifyPassword } from './secrets.js';

describe('passwords', () => {
  it('are stored as argon2id and verify only with the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored.startsWith('$argon2id$')).toBe(true);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapl')).toBe(false);
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
