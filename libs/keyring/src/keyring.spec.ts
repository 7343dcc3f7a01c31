import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMasterKey, masterKeyFile, seal, unseal } from './keyring.js';

describe('keyring', () => {
  it('seals and opens, and refuses another key, another context or a flipped byte', () => {
    const key = Buffer.alloc(32, 1);
    const sealed = seal(key, Buffer.from('secret'), 'ctx:a');
    expect(unseal(key, sealed, 'ctx:a').toString()).toBe('secret');
    expect(sealed.includes(Buffer.from('secret'))).toBe(false);
    expect(() => unseal(Buffer.alloc(32, 2), sealed, 'ctx:a')).toThrow();
    expect(() => unseal(key, sealed, 'ctx:b')).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => unseal(key, flipped, 'ctx:a')).toThrow();
  });

  it('generates a 0600 key file once and reads it back; a configured key wins', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'keyring-'));
    try {
      const first = await loadMasterKey(null, dir);
      expect(first.source).toBe('generated');
      expect((await stat(masterKeyFile(dir))).mode & 0o777).toBe(0o600);
      const second = await loadMasterKey(null, dir);
      expect(second.source).toBe('file');
      expect(second.key.equals(first.key)).toBe(true);
      expect((await readFile(masterKeyFile(dir), 'utf8')).trim()).toBe(first.key.toString('hex'));
      const configured = await loadMasterKey(Buffer.alloc(32, 9), dir);
      expect(configured).toEqual({ key: Buffer.alloc(32, 9), source: 'env' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
