import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadStore } from './upload-store.js';

// close(2) may report a write that failed late (NFS: EIO, ENOSPC, EDQUOT); a FileHandle's close is
// its own property, so the handles the store opens are given one that closes, then says so.
const closes = vi.hoisted(() => ({ fail: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const failing = async (...args: Parameters<typeof real.open>) => {
    const handle = await real.open(...args);
    if (closes.fail) {
      const close = handle.close.bind(handle);
      handle.close = async () => {
        await close();
        throw Object.assign(new Error('EIO: i/o error, close'), { code: 'EIO' });
      };
    }
    return handle;
  };
  return { ...real, open: failing, default: { ...real, open: failing } };
});

const ID = 'a'.repeat(32);
const noConfig = { get: async () => undefined, set: async () => undefined, delete: async () => undefined, list: async () => [] };

describe('UploadStore.receive: the file close after the answer', () => {
  let dir: string;
  afterEach(async () => {
    closes.fail = false;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a close that reports a failed write (as close(2) may on NFS) is heard: finishing fails and the file goes back to what surely reached the disk', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-upload-store-'));
    await writeFile(path.join(dir, ID), '');
    const store = new UploadStore({ directory: dir, configstore: noConfig as never, expirationPeriodInMilliseconds: 60_000 });
    closes.fail = true;

    const answer = await store.receive(Readable.from([Buffer.alloc(1000, 7)]), ID, 0, { check: null, limit: 5000 });
    expect(answer).toEqual({ offset: 1000, interrupted: false });
    // Nothing goes unheard in the meantime (vitest fails the run on an unhandled rejection).
    await new Promise((resolve) => setTimeout(resolve, 100));
    closes.fail = false;
    await expect(store.finishedSha256(ID, 1000)).rejects.toMatchObject({ status_code: 500 });
    // Nothing of the 1,000 bytes was flushed (the flush runs every 64 MiB): the client resends them.
    expect((await readFile(path.join(dir, ID))).length).toBe(0);
  });
});
