import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
      expect(await readdir(dir)).toEqual(['master.key']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('processes starting together on a new data folder all get the one key, generated once', async () => {
    // An API and a worker on a fresh folder: a file written in place was read half written, or its
    // creation (flag wx) failed the second process with EEXIST.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'keyring-'));
    try {
      const loaded = await Promise.all(Array.from({ length: 16 }, () => loadMasterKey(null, path.join(dir, 'data'))));
      expect(loaded.filter((l) => l.source === 'generated')).toHaveLength(1);
      for (const l of loaded) expect(l.key.equals(loaded[0]!.key)).toBe(true);
      expect(await readdir(path.join(dir, 'data'))).toEqual(['master.key']);
      expect((await stat(masterKeyFile(path.join(dir, 'data')))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key file that does not hold a key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'keyring-'));
    try {
      await writeFile(masterKeyFile(dir), 'not a key\n');
      await expect(loadMasterKey(null, dir)).rejects.toThrow(/64 hex characters/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
