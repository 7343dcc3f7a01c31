import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UploadStore } from './upload-store.js';

// close(2) may report a write that failed late (NFS: EIO, ENOSPC, EDQUOT); a FileHandle's close is
// its own property, so the handles the store opens are given one that closes, then says so.
// Writes can be made slow (`writeDelayMs`) or failing (`failWrites`) the same way.
const closes = vi.hoisted(() => ({ fail: false, writeDelayMs: 0, failWrites: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const failing = async (...args: Parameters<typeof real.open>) => {
    const handle = await real.open(...args);
    const writev = handle.writev.bind(handle);
    handle.writev = (async (...writeArgs: Parameters<typeof writev>) => {
      await new Promise((resolve) => setTimeout(resolve, closes.writeDelayMs));
      if (closes.failWrites) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
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

describe('UploadStore.receive: the file close after the answer', () => {
  let dir: string;
  afterEach(async () => {
    Object.assign(closes, { fail: false, writeDelayMs: 0, failWrites: false });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a close that reports a failed write (as close(2) may on NFS) is heard: finishing fails and the file goes back to what surely reached the disk', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-upload-store-'));
    await writeFile(path.join(dir, ID), '');
    const store = new UploadStore({ directory: dir, configstore: noConfig as never, expirationPeriodInMilliseconds: 60_000 });
    closes.fail = true;

    const answer = await store.receive(Readable.from([Buffer.alloc(1000, 7)]), ID, 0, { check: null, limit: 5000 });
    expect(answer).toMatchObject({ offset: 1000, interrupted: false });
    // Nothing goes unheard in the meantime (vitest fails the run on an unhandled rejection).
    await new Promise((resolve) => setTimeout(resolve, 100));
    closes.fail = false;
    await expect(store.finishedSha256(ID, 1000)).rejects.toMatchObject({ status_code: 500 });
    // Nothing of the 1,000 bytes was flushed (the flush runs every 64 MiB): the client resends them.
    expect((await readFile(path.join(dir, ID))).length).toBe(0);
  });

});

describe('UploadStore.receive: an early answer (early: true)', () => {
  let dir: string;
  let store: UploadStore;
  const file = () => path.join(dir, ID);
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-upload-store-'));
    await writeFile(file(), '');
    store = new UploadStore({ directory: dir, configstore: noConfig as never, expirationPeriodInMilliseconds: 60_000 });
  });
  afterEach(async () => {
    Object.assign(closes, { fail: false, writeDelayMs: 0, failWrites: false });
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a whole body that is not the last once it is hashed, and its bytes are in the file when `written` settles; the last body waits for its writes', async () => {
    const bytes = randomBytes(3000);
    closes.writeDelayMs = 150;
    const first = await store.receive(Readable.from([bytes.subarray(0, 1000)]), ID, 0, { check: null, limit: 3000, early: true });
    expect(first.offset).toBe(1000);
    // Answered while the write waits.
    expect((await stat(file())).size).toBe(0);
    await first.written;
    expect((await stat(file())).size).toBe(1000);
    const second = await store.receive(Readable.from([bytes.subarray(1000)]), ID, 1000, { check: null, limit: 2000, early: true });
    expect(second.offset).toBe(3000);
    expect((await stat(file())).size).toBe(3000);
    // The running hash went on across the early answer.
    expect(await store.finishedSha256(ID, 3000)).toBe(sha256(bytes));
  });

  it('does not answer early a body that fails its Upload-Checksum: 460, and nothing of it is kept', async () => {
    closes.writeDelayMs = 50;
    const body = randomBytes(1000);
    const wrong = { algorithm: 'sha256' as const, digest: createHash('sha256').update('other').digest() };
    await expect(store.receive(Readable.from([body]), ID, 0, { check: wrong, limit: 5000, early: true })).rejects.toMatchObject({ status_code: 460 });
    expect((await stat(file())).size).toBe(0);
    const right = { algorithm: 'sha256' as const, digest: createHash('sha256').update(body).digest() };
    const answer = await store.receive(Readable.from([body]), ID, 0, { check: right, limit: 5000, early: true });
    await answer.written;
    expect((await readFile(file())).equals(body)).toBe(true);
  });

  it('a write that fails after the early answer leaves the file as it is: the next body at the offset answered is told the real one (409), and resent from there the upload hashes right', async () => {
    const bytes = randomBytes(3000);
    await (await store.receive(Readable.from([bytes.subarray(0, 1000)]), ID, 0, { check: null, limit: 3000, early: true })).written;
    closes.failWrites = true;
    const lost = await store.receive(Readable.from([bytes.subarray(1000, 2000)]), ID, 1000, { check: null, limit: 2000, early: true });
    expect(lost.offset).toBe(2000);
    // Heard by the caller, which logs it (vitest fails the run on an unhandled rejection).
    expect(await lost.written).toMatchObject({ code: 'ENOSPC' });
    closes.failWrites = false;
    expect((await stat(file())).size).toBe(1000);
    await expect(store.receive(Readable.from([bytes.subarray(2000)]), ID, 2000, { check: null, limit: 1000, early: true })).rejects.toMatchObject({ status_code: 409 });
    await (await store.receive(Readable.from([bytes.subarray(1000, 2000)]), ID, 1000, { check: null, limit: 2000, early: true })).written;
    await store.receive(Readable.from([bytes.subarray(2000)]), ID, 2000, { check: null, limit: 1000, early: true });
    expect(await store.finishedSha256(ID, 3000)).toBe(sha256(bytes));
  });
});
