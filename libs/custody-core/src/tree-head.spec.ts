import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTimestamp, formatTimestamp } from './timestamp.js';
import { generateSigningKey, keyIdOf, signTreeHead, treeHeadBytes, verifyTreeHead, type SignedTreeHead, type TreeHead } from './tree-head.js';

const current = generateSigningKey();
const previous = generateSigningKey();
const published = [current, previous].map(({ keyId, publicKeyPem }) => ({ keyId, publicKeyPem }));

const head: TreeHead = {
  treeSize: 42,
  rootHash: 'ab'.repeat(32),
  timestamp: '2026-11-24T21:04:05.123Z',
  keyId: current.keyId,
};
const signed = signTreeHead(head, current.privateKey);

/** Signs arbitrary head fields with any key, as a forger would, bypassing signTreeHead's checks. */
function forge(fields: TreeHead, privateKey = current.privateKey): SignedTreeHead {
  return { ...fields, signature: sign(null, treeHeadBytes(fields), privateKey).toString('base64') };
}

describe('tree heads', () => {
  it('sign exactly the RFC 8785 bytes of the four fields', () => {
    expect(treeHeadBytes({ ...head, extra: 'ignored' } as TreeHead).toString()).toBe(
      `{"keyId":"${current.keyId}","rootHash":"${'ab'.repeat(32)}","timestamp":"2026-11-24T21:04:05.123Z","treeSize":42}`,
    );
    expect(Object.keys(signed).sort()).toEqual(['keyId', 'rootHash', 'signature', 'timestamp', 'treeSize']);
    expect(Buffer.from(signed.signature, 'base64')).toHaveLength(64);
  });

  it('verify against the published keys, including rotated-out ones', () => {
    expect(verifyTreeHead(signed, published)).toEqual({ valid: true });
    expect(verifyTreeHead(signed, published[0])).toEqual({ valid: true });
    const old = signTreeHead({ ...head, keyId: previous.keyId }, previous.privateKey);
    expect(verifyTreeHead(old, published)).toEqual({ valid: true });
  });

  it('fail when any signed field changes', () => {
    for (const changed of [
      { ...signed, treeSize: 43 },
      { ...signed, treeSize: 0 },
      { ...signed, rootHash: 'ac' + 'ab'.repeat(31) },
      { ...signed, timestamp: '2026-11-24T21:04:05.124Z' },
      { ...signed, keyId: previous.keyId },
    ]) {
      expect(verifyTreeHead(changed, published).valid, JSON.stringify(changed)).toBe(false);
    }
  });

  it('fail when signed by a key other than the one named', () => {
    const stranger = generateSigningKey();
    const byStranger = signTreeHead({ ...head, keyId: stranger.keyId }, stranger.privateKey);
    expect(verifyTreeHead(byStranger, published)).toMatchObject({ valid: false, reason: expect.stringMatching(/no published key/) });
    expect(verifyTreeHead(forge(head, stranger.privateKey), published)).toMatchObject({ valid: false, reason: 'signature does not verify' });
    expect(verifyTreeHead(forge(head, previous.privateKey), published).valid).toBe(false);
  });

  it('fail when a published keyId is not the hash of its key', () => {
    const stranger = generateSigningKey();
    // A key list that files the stranger's key under the real key's id must not let the stranger sign.
    const poisoned = [{ keyId: current.keyId, publicKeyPem: stranger.publicKeyPem }];
    expect(verifyTreeHead(forge(head, stranger.privateKey), poisoned)).toMatchObject({ valid: false, reason: expect.stringMatching(/does not hash/) });
  });

  it('fail with malformed fields or signature', () => {
    const bad: unknown[] = [
      { ...signed, signature: signed.signature.slice(0, -4) },
      { ...signed, signature: `${signed.signature}=` },
      { ...signed, signature: signed.signature.replace(/[A-Za-z]/, '!') },
      { ...signed, signature: undefined },
      { ...signed, rootHash: signed.rootHash.toUpperCase() },
      { ...signed, treeSize: -1 },
      { ...signed, treeSize: '42' },
      { ...signed, timestamp: '2026-11-24T21:04:05Z' },
      { ...signed, timestamp: '2026-11-24T22:04:05.123+01:00' },
      null,
    ];
    for (const value of bad) expect(verifyTreeHead(value as SignedTreeHead, published).valid, JSON.stringify(value)).toBe(false);
    expect(verifyTreeHead(signed, [{ keyId: current.keyId, publicKeyPem: 'not a key' }]).valid).toBe(false);
  });

  it('refuse a non-Ed25519 published key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyId = keyIdOf(publicKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyTreeHead({ ...signed, keyId }, [{ keyId, publicKeyPem: pem }])).toMatchObject({ valid: false, reason: expect.stringMatching(/Ed25519/) });
  });

  it('are only signed with the key they name, an Ed25519 key, and well-formed fields', () => {
    expect(() => signTreeHead({ ...head, keyId: previous.keyId }, current.privateKey)).toThrow(/keyId/);
    expect(() => signTreeHead(head, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)).toThrow(/Ed25519/);
    expect(() => signTreeHead(head, current.publicKey)).toThrow(/Ed25519 private/);
    expect(() => signTreeHead({ ...head, timestamp: '2026-02-30T00:00:00.000Z' }, current.privateKey)).toThrow(/timestamp/);
    expect(() => signTreeHead({ ...head, rootHash: 'abc' }, current.privateKey)).toThrow(/rootHash/);
  });

  it('name keys by the SHA-256 of their SPKI DER, however the key is given', () => {
    expect(current.keyId).toMatch(/^[0-9a-f]{64}$/);
    expect(keyIdOf(current.publicKeyPem)).toBe(current.keyId);
    expect(keyIdOf(current.publicKey)).toBe(current.keyId);
    expect(keyIdOf(current.privateKey)).toBe(current.keyId);
    expect(keyIdOf(previous.publicKey)).not.toBe(current.keyId);
  });

  it('carry RFC 3339 UTC timestamps with milliseconds', () => {
    expect(formatTimestamp(new Date(Date.UTC(2026, 10, 24, 21, 4, 5, 7)))).toBe('2026-11-24T21:04:05.007Z');
    expect(isTimestamp(formatTimestamp())).toBe(true);
    expect(isTimestamp('2026-13-01T00:00:00.000Z')).toBe(false);
  });
});
