import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadStore } from './upload-store.js';

// close(2) may report a write that failed late (NFS: EIO, ENOSPC, EDQUOT); a FileHandle's close is
// its own property, so the handles the store opens are given one that closes, then says so.
// Writes can be made slow (`writeDelayMs`) the same way.
const closes = vi.hoisted(() => ({ fail: false, writeDelayMs: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const failing = async (...args: Parameters<typeof real.open>) => {
    const handle = await real.open(...args);
    const writev = handle.writev.bind(handle);
    handle.writev = (async (...writeArgs: Parameters<typeof writev>) => {
      await new Promise((resolve) => setTimeout(resolve, closes.writeDelayMs));
      return writev(...writeArgs);
    }) as typeof handle.writev;
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

describe('UploadStore.receive: the answer and the file', () => {
  let dir: string;
  afterEach(async () => {
    Object.assign(closes, { fail: false, writeDelayMs: 0 });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers a body only once its bytes are in the file, however slow the disk: a process killed right after the answer has them', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-upload-store-'));
    await writeFile(path.join(dir, ID), '');
    const store = new UploadStore({ directory: dir, configstore: noConfig as never, expirationPeriodInMilliseconds: 60_000 });
    closes.writeDelayMs = 150;
    const bytes = randomBytes(3000);
    // Not the upload's last body (3,000 bytes of 10,000): answering it before its writes, as the
    // archive once did, left a client that discards what was acknowledged unable to go on.
    const answer = await store.receive(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), ID, 0, { check: null, limit: 10_000 });
    expect(answer.offset).toBe(3000);
    expect((await stat(path.join(dir, ID))).size).toBe(3000);
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
