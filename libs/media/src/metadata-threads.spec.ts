import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { messageAttachmentBytes } from './message-attachment.js';
import { extractEmbeddedMetadata } from './metadata.js';
import { CarriedFileStoppedError, MetadataThreads } from './metadata-threads.js';
import { sniffMediaType } from './sniff.js';
import { fixture } from './test-support/fixtures.js';

const MISBEHAVING = new URL('./test-support/misbehaving-thread.ts', import.meta.url);
const pools: MetadataThreads[] = [];
const pool = (options: ConstructorParameters<typeof MetadataThreads>[0] = {}) => {
  const made = new MetadataThreads(options);
  pools.push(made);
  return made;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('MetadataThreads', () => {
  it('reads in a thread what sniffMediaType and extractEmbeddedMetadata read on the spot, files at once', async () => {
    const threads = pool({ size: 2 });
    const names = ['exif-ne-offset.jpg', 'exif.png', 'apple.mov', 'document.pdf', 'exif.heic'];
    const inThreads = await Promise.all(names.map((name) => threads.read(fixture(name))));
    for (const [i, name] of names.entries()) {
      expect(inThreads[i], name).toEqual({ mediaType: await sniffMediaType(fixture(name)), metadata: await extractEmbeddedMetadata(fixture(name)) });
    }
    expect(inThreads.map((reading) => reading.mediaType)).toEqual(['image/jpeg', 'image/png', 'video/quicktime', 'application/pdf', 'image/heic']);
    expect(inThreads[0]!.metadata!.location).not.toBeNull();
  });

  it("passes the reader's own errors on (a missing file is the caller's bug)", async () => {
    await expect(pool({ size: 1 }).read(fixture('no-such-file.jpg'))).rejects.toThrow(/ENOENT/);
  });

  it('stops a file that stalls its reader at the time limit, keeps the event loop free meanwhile, and goes on with a fresh thread', async () => {
    const stops: string[] = [];
    const threads = pool({ size: 1, timeLimitMs: 1500, module: MISBEHAVING, onStopped: (reason) => stops.push(reason) });
    const started = performance.now();
    const stalled = threads.read('/evidence/stall.jpg');
    const after = threads.read('/evidence/plain.jpg');
    // The loop stays free: a short timer fires on time while the thread spins.
    const tick = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(performance.now() - tick).toBeLessThan(500);
    const reading = await stalled;
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    // The type was sniffed before the metadata readers stalled: it is kept.
    expect(reading.mediaType).toBe('image/jpeg');
    expect(reading.metadata).toMatchObject({ capturedAt: null, location: null, device: null });
    expect(reading.metadata!.notes).toEqual(['Embedded metadata: reading took longer than 1.5 s and was stopped; nothing was read from the file']);
    expect(stops).toEqual(['reading took longer than 1.5 s and was stopped']);
    // The file queued behind it is read by the next thread.
    expect(await after).toEqual({ mediaType: 'image/jpeg', metadata: null });
  });

  it('stops a file that stalls the type sniffer too, recording it as application/octet-stream and saying so', async () => {
    const threads = pool({ size: 1, timeLimitMs: 1000, module: MISBEHAVING });
    const reading = await threads.read('/evidence/sniff-stall.jpg');
    expect(reading.mediaType).toBe('application/octet-stream');
    expect(reading.metadata!.notes).toEqual([
      'Media type: reading took longer than 1 s and was stopped before the type was known; recorded as application/octet-stream',
      'Embedded metadata: reading took longer than 1 s and was stopped; nothing was read from the file',
    ]);
    expect(await threads.read('/evidence/plain.jpg')).toEqual({ mediaType: 'image/jpeg', metadata: null });
  });

  it('stops a reader that grows its heap past the cap, and one that exits, answering both as stopped', async () => {
    const threads = pool({ size: 1, heapMb: 64, timeLimitMs: 60_000, module: MISBEHAVING });
    expect((await threads.read('/evidence/hog.jpg')).metadata!.notes).toEqual(['Embedded metadata: the reader ran out of memory (64 MiB); nothing was read from the file']);
    expect((await threads.read('/evidence/exit.jpg')).metadata!.notes).toEqual(['Embedded metadata: the reader exited; nothing was read from the file']);
    expect((await threads.read('/evidence/plain.jpg')).metadata).toBeNull();
  });

  it('answers the file being read and those waiting as stopped when closed, and starts no thread for them', async () => {
    const threads = pool({ size: 1, timeLimitMs: 60_000, module: MISBEHAVING });
    // The thread up first (its start takes a while from the sources), so the first file gets sniffed.
    await threads.read('/evidence/plain.jpg');
    const reading = threads.read('/evidence/stall-1.jpg');
    const waiting = threads.read('/evidence/stall-2.jpg');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await threads.close();
    const note = 'Embedded metadata: the archive is shutting down; nothing was read from the file';
    // The one being read had its type sniffed; the one waiting had not.
    expect(await reading).toMatchObject({ mediaType: 'image/jpeg', metadata: { notes: [note] } });
    expect((await waiting).mediaType).toBe('application/octet-stream');
    expect((await waiting).metadata!.notes).toContain(note);
    expect((threads as unknown as { threads: Set<unknown> }).threads.size).toBe(0);
    // Usable again afterwards.
    expect((await threads.read('/evidence/plain.jpg')).metadata).toBeNull();
  });

  it('takes a file a message carries out of it in a thread: the bytes messageAttachmentBytes gives, or null', async () => {
    const threads = pool({ size: 2 });
    for (const message of ['tip-forwarded.eml', 'outlook-attachments.msg']) {
      for (const file of EXPECTED_METADATA[message]!.document!.attachments!) {
        expect(await threads.carried(fixture(message), file.sha256), `${message}: ${file.name}`).toEqual(await messageAttachmentBytes(fixture(message), file.sha256));
      }
      expect(await threads.carried(fixture(message), 'ab'.repeat(32))).toBeNull();
    }
    expect(createHash('sha256').update((await threads.carried(fixture('tip.eml'), EXPECTED_METADATA['tip.eml']!.document!.attachments![0]!.sha256))!).digest('hex')).toBe(
      createHash('sha256').update(readFileSync(fixture('exif-ne-offset.jpg'))).digest('hex'),
    );
    await expect(threads.carried(fixture('no-such-file.eml'), 'ab'.repeat(32))).rejects.toThrow(/ENOENT/);
  });

  it('stops taking a file out of a message that stalls its parser, with the reason, and goes on', async () => {
    const threads = pool({ size: 1, timeLimitMs: 1000, module: MISBEHAVING });
    const stalled = threads.carried('/evidence/stall.eml', 'ab'.repeat(32));
    await expect(stalled).rejects.toThrow(CarriedFileStoppedError);
    await expect(stalled).rejects.toThrow('Taking the file out of the message was stopped: reading took longer than 1 s and was stopped');
    expect(await threads.carried('/evidence/plain.eml', 'ab'.repeat(32))).toBeNull();
  });

  it('refuses reads when no thread can start, instead of leaving them waiting', async () => {
    const threads = pool({ size: 1, module: new URL('./test-support/no-such-thread.ts', import.meta.url) });
    await expect(threads.read('/evidence/plain.jpg')).rejects.toThrow(/could not start/);
  });
});
