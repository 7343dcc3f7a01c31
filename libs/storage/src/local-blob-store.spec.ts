import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSink, FLUSH_EVERY_BYTES, LocalBlobStore } from './local-blob-store.js';
import {
  BlobNotFoundError,
  BlobRangeError,
  BlobStoreUnavailableError,
  BlobTooLargeError,
  InvalidBlobHashError,
} from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

let root: string;
let store: LocalBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'custodia-storage-'));
  store = new LocalBlobStore(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Every file below the store root, as root-relative paths. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(dir.length + 1))
    .sort();
}

const temporaryFiles = async (): Promise<string[]> => (await filesIn(root)).filter((file) => file.startsWith('tmp/'));
const storedFiles = async (): Promise<string[]> => (await filesIn(root)).filter((file) => file.startsWith('sha256/'));

/** A generator of `count` chunks that records how many were pulled and whether it was closed. */
function countingSource(count: number, chunkBytes: number, failAfter?: number) {
  const seen = { pulled: 0, closed: false };
  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < count; i++) {
        if (failAfter !== undefined && i === failAfter) throw new Error('connection reset by peer');
        seen.pulled += 1;
        yield randomBytes(chunkBytes);
      }
    } finally {
      seen.closed = true;
    }
  }
  return { seen, source: generate() };
}

describe('LocalBlobStore.ingest and commit', () => {
  it('stores the bytes exactly, under their SHA-256, in the content-addressed layout', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    const result = await store.ingest(chunksOf(bytes, 64 * KiB + 3), { maxBytes: 10 * MiB });

    expect(result.sha256).toBe(sha256(bytes));
    expect(result.sizeBytes).toBe(bytes.length);
    expect(await store.stat(result.sha256)).toBeNull(); // not part of the store before commit

    const committed = await result.commit();
    const hex = result.sha256;
    expect(committed).toEqual({ key: `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`, created: true });
    // Buffer.equals, not toEqual: a deep comparison of megabytes takes vitest tens of seconds.
    expect((await readFile(join(root, committed.key))).equals(bytes)).toBe(true);
    expect((await readAll(await store.open(hex))).equals(bytes)).toBe(true);
    expect(await store.stat(hex)).toEqual({ sizeBytes: bytes.length });
    expect(await temporaryFiles()).toEqual([]);
  });

  it('accepts a Node Readable as the source', async () => {
    const bytes = randomBytes(200 * KiB);
    const result = await store.ingest(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), {
      maxBytes: bytes.length,
    });
    expect(result.sha256).toBe(sha256(bytes));
    await result.commit();
    expect(await store.rehash(result.sha256)).toBe(sha256(bytes));
  });

  it('stores an empty file', async () => {
    const result = await store.ingest(chunksOf(new Uint8Array(0), 1), { maxBytes: 0 });
    expect(result).toMatchObject({ sha256: EMPTY_SHA256, sizeBytes: 0 });
    await result.commit();
    expect(await store.stat(EMPTY_SHA256)).toEqual({ sizeBytes: 0 });
    expect(await readAll(await store.open(EMPTY_SHA256))).toHaveLength(0);
  });

  it('stores identical bytes once: the second commit keeps the first blob', async () => {
    const bytes = randomBytes(100 * KiB);
    const first = await store.ingest(chunksOf(bytes, 4096), { maxBytes: MiB });
    expect((await first.commit()).created).toBe(true);
    const before = await stat(join(root, (await first.commit()).key));

    const second = await store.ingest(chunksOf(bytes, 1000), { maxBytes: MiB });
    const again = await second.commit();
    expect(again.created).toBe(false);

    const after = await stat(join(root, again.key));
    expect(await storedFiles()).toEqual([again.key]);
    expect(await temporaryFiles()).toEqual([]);
    // Not rewritten, not even touched: same inode, same change time.
    expect(after.ino).toBe(before.ino);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('creates a blob exactly once when two uploads of the same bytes commit at the same moment', async () => {
    const bytes = randomBytes(50 * KiB);
    const uploads = await Promise.all(
      Array.from({ length: 4 }, () => store.ingest(chunksOf(bytes, 8 * KiB), { maxBytes: MiB })),
    );
    const outcomes = await Promise.all(uploads.map((upload) => upload.commit()));
    expect(outcomes.filter((outcome) => outcome.created)).toHaveLength(1);
    expect(await storedFiles()).toHaveLength(1);
    expect(await temporaryFiles()).toEqual([]);
  });

  it('makes stored blobs read-only (0444)', async () => {
    const result = await store.ingest(chunksOf(randomBytes(1000), 100), { maxBytes: 1000 });
    const { key } = await result.commit();
    expect((await stat(join(root, key))).mode & 0o777).toBe(0o444);
  });

  it('keeps a stored blob whose bytes differ from a later upload under the same name', async () => {
    // Only tampering can produce this; the store must still never overwrite what it holds.
    const bytes = randomBytes(4096);
    const first = await store.ingest(chunksOf(bytes, 4096), { maxBytes: MiB });
    const { key } = await first.commit();
    const path = join(root, key);
    await chmod(path, 0o644);
    await writeFile(path, 'tampered');
    await chmod(path, 0o444);

    const second = await store.ingest(chunksOf(bytes, 4096), { maxBytes: MiB });
    expect((await second.commit()).created).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('tampered');
  });

  it('commit is idempotent', async () => {
    const result = await store.ingest(chunksOf(randomBytes(1000), 100), { maxBytes: 1000 });
    const first = await result.commit();
    expect(await result.commit()).toEqual(first);
    expect(await storedFiles()).toEqual([first.key]);
  });

  it('accepts exactly maxBytes', async () => {
    const result = await store.ingest(chunksOf(randomBytes(10 * KiB), KiB), { maxBytes: 10 * KiB });
    expect(result.sizeBytes).toBe(10 * KiB);
    await result.discard();
  });

  it('rejects a maxBytes that is not a non-negative integer', async () => {
    for (const maxBytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(store.ingest(chunksOf(randomBytes(10), 10), { maxBytes })).rejects.toThrow(RangeError);
    }
  });
});

describe('LocalBlobStore.ingest failures leave nothing behind', () => {
  it('stops at the size limit with BlobTooLargeError and stops pulling from the source', async () => {
    const { seen, source } = countingSource(1000, 64 * KiB);
    const failure = store.ingest(source, { maxBytes: 256 * KiB + 1 });
    await expect(failure).rejects.toBeInstanceOf(BlobTooLargeError);
    await expect(failure).rejects.toMatchObject({ maxBytes: 256 * KiB + 1 });
    // The fifth chunk crosses the limit; a little read-ahead is tolerated, reading on is not.
    expect(seen.pulled).toBeGreaterThanOrEqual(5);
    expect(seen.pulled).toBeLessThanOrEqual(8);
    expect(seen.closed).toBe(true);
    expect(await temporaryFiles()).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('destroys a stream source at the size limit', async () => {
    let reads = 0;
    const source = new Readable({
      read() {
        reads += 1;
        this.push(randomBytes(64 * KiB));
      },
    });
    await expect(store.ingest(source, { maxBytes: MiB })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(source.destroyed).toBe(true);
    expect(reads).toBeLessThan(64); // an endless source: 16 reads reach the limit
    expect(await temporaryFiles()).toEqual([]);
  });

  it('fails and removes the temporary file when the source errors mid-way (client disconnect)', async () => {
    const { seen, source } = countingSource(100, 64 * KiB, 10);
    await expect(store.ingest(source, { maxBytes: 100 * MiB })).rejects.toThrow('connection reset by peer');
    expect(seen.pulled).toBe(10);
    expect(await temporaryFiles()).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('fails when a stream source is destroyed before its end (truncated upload)', async () => {
    const source = new PassThrough();
    const failure = store.ingest(source, { maxBytes: 100 * MiB });
    source.write(randomBytes(300 * KiB));
    await sleep(20);
    expect(await temporaryFiles()).toHaveLength(1); // the upload was being written
    source.destroy();
    await expect(failure).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(await temporaryFiles()).toEqual([]);
  });

  it('fails with the error of a stream source that fails before its temporary file is open, and nothing else hears it', async () => {
    // As busboy fails a file part's stream when the body ends inside it: at once, in the same
    // turn as it hands the stream over. Unheard, that 'error' would end the process.
    const source = new PassThrough();
    const failure = store.ingest(source, { maxBytes: 100 * MiB });
    source.destroy(new Error('Unexpected end of form'));
    await expect(failure).rejects.toThrow('Unexpected end of form');
    expect(await temporaryFiles()).toEqual([]);
  });

  it('fails with the abort reason when the signal fires mid-upload', async () => {
    const controller = new AbortController();
    const reason = new Error('the client went away');
    let pulled = 0;
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1000; i++) {
        pulled += 1;
        if (i === 5) controller.abort(reason);
        await sleep(2);
        yield randomBytes(16 * KiB);
      }
    }
    await expect(store.ingest(slow(), { maxBytes: 100 * MiB, signal: controller.signal })).rejects.toBe(reason);
    expect(pulled).toBeLessThan(10);
    expect(await temporaryFiles()).toEqual([]);
  });

  it('fails with the abort reason when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const source = new PassThrough();
    await expect(store.ingest(source, { maxBytes: MiB, signal: controller.signal })).rejects.toThrow('shutting down');
    expect(source.destroyed).toBe(true);
    expect(await temporaryFiles()).toEqual([]);
  });

  it('discard() removes the temporary file, and a discarded upload cannot be committed', async () => {
    const result = await store.ingest(chunksOf(randomBytes(10 * KiB), KiB), { maxBytes: MiB });
    expect(await temporaryFiles()).toHaveLength(1);
    await result.discard();
    expect(await temporaryFiles()).toEqual([]);
    await expect(result.commit()).rejects.toThrow(/discarded/);
    expect(await storedFiles()).toEqual([]);
  });

  it('discard() after commit keeps the stored blob', async () => {
    const bytes = randomBytes(10 * KiB);
    const result = await store.ingest(chunksOf(bytes, KiB), { maxBytes: MiB });
    const { key } = await result.commit();
    await result.discard();
    expect((await readFile(join(root, key))).equals(bytes)).toBe(true);
  });
});

describe('LocalBlobStore.commit: which directories are synced before it returns', () => {
  /** A store that records each directory it fsyncs (as a root-relative path, '' for the root, '..' for its parent). */
  class RecordingStore extends LocalBlobStore {
    synced: string[] = [];
    constructor(private readonly at: string) {
      super(at);
    }
    protected override async syncDirectory(path: string): Promise<void> {
      this.synced.push(path === dirname(this.at) ? '..' : path.slice(this.at.length + 1));
      await super.syncDirectory(path);
    }
  }

  /** Bytes whose SHA-256 starts with `prefix` (found by trying). */
  function bytesHashingTo(prefix: string, exclude: Buffer[] = []): Buffer {
    for (let n = 0; ; n++) {
      const bytes = Buffer.from(`bytes ${n} ${prefix}`);
      if (sha256(bytes).startsWith(prefix) && !exclude.some((other) => other.equals(bytes))) return bytes;
    }
  }
  const store = async (into: RecordingStore, bytes: Buffer): Promise<string[]> => {
    into.synced = [];
    await (await into.ingest(chunksOf(bytes, 64), { maxBytes: MiB })).commit();
    return [...into.synced].sort();
  };

  it('syncs the blob\'s folder every time, and each parent whose child\'s name this process has not yet made durable', async () => {
    const recording = new RecordingStore(root);
    const first = bytesHashingTo('abcd');
    const sameLeaf = bytesHashingTo('abcd', [first]);
    const sameUpper = bytesHashingTo('abef');
    // A fresh tree: every name from the root's own down is new.
    expect(await store(recording, first)).toEqual(['', '..', 'sha256', 'sha256/ab', 'sha256/ab/cd']);
    // Another blob in the same folder: only that folder gets a new name.
    expect(await store(recording, sameLeaf)).toEqual(['sha256/ab/cd']);
    // The same bytes again: nothing new, but the folder is synced before acknowledging again.
    expect(await store(recording, first)).toEqual(['sha256/ab/cd']);
    // A new folder under a known one: that folder, and its parent for its name.
    expect(await store(recording, sameUpper)).toEqual(['sha256/ab', 'sha256/ab/ef']);
    // Another store (as another process would) trusts no fsync it did not make itself.
    expect(await store(new RecordingStore(root), sameLeaf)).toEqual(['', '..', 'sha256', 'sha256/ab', 'sha256/ab/cd']);
    // Folders removed behind its back and made again are synced again.
    await rm(join(root, 'sha256'), { recursive: true, force: true });
    expect(await store(recording, first)).toEqual(['', 'sha256', 'sha256/ab', 'sha256/ab/cd']);
    expect((await readFile(join(root, 'sha256', 'ab', 'cd', sha256(first)))).equals(first)).toBe(true);
  });
});

describe('LocalBlobStore.open with ranges', () => {
  const bytes = randomBytes(3 * MiB + 5); // spans several read chunks
  let hex: string;

  beforeEach(async () => {
    const result = await store.ingest(chunksOf(bytes, 256 * KiB), { maxBytes: 10 * MiB });
    hex = (await result.commit()).key.split('/').at(-1)!;
  });

  it.each([
    ['the first byte', 0, 0],
    ['a middle slice across chunk boundaries', MiB - 10, 2 * MiB + 10],
    ['the last byte', 3 * MiB + 4, 3 * MiB + 4],
    ['the whole blob', 0, 3 * MiB + 4],
  ])('reads %s', async (_name, start, end) => {
    const read = await readAll(await store.open(hex, { start, end }));
    expect(read.length).toBe(end - start + 1);
    expect(read.equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it.each([
    ['starts past the end', 3 * MiB + 5, 3 * MiB + 5],
    ['ends past the end', 0, 3 * MiB + 5],
    ['is reversed', 10, 9],
    ['is negative', -1, 5],
    ['is fractional', 0.5, 5],
  ])('rejects a range that %s with BlobRangeError', async (_name, start, end) => {
    await expect(store.open(hex, { start, end })).rejects.toBeInstanceOf(BlobRangeError);
    await expect(store.open(hex, { start, end })).rejects.toMatchObject({ sizeBytes: bytes.length });
  });

  it('throws BlobNotFoundError for a hash that is not stored', async () => {
    const missing = sha256(Buffer.from('never stored'));
    await expect(store.open(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.rehash(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat(missing)).toBeNull();
  });
});

describe('LocalBlobStore hash validation', () => {
  const valid = sha256(Buffer.from('x'));
  it.each([
    ['a path traversal', '../../etc/passwd'],
    ['a traversal padded to 64 characters', `../../../../etc/passwd${'0'.repeat(42)}`],
    ['uppercase hex', valid.toUpperCase()],
    ['a short hash', valid.slice(0, 63)],
    ['a long hash', `${valid}0`],
    ['a trailing newline', `${valid}\n`],
    ['an empty string', ''],
    ['a non-string', 42 as unknown as string],
  ])('rejects %s before touching the disk', async (_name, candidate) => {
    await expect(store.open(candidate)).rejects.toBeInstanceOf(InvalidBlobHashError);
    await expect(store.stat(candidate)).rejects.toBeInstanceOf(InvalidBlobHashError);
    await expect(store.rehash(candidate)).rejects.toBeInstanceOf(InvalidBlobHashError);
    await expect(store.withLocalFile(candidate, async () => 'read')).rejects.toBeInstanceOf(InvalidBlobHashError);
  });
});

describe('LocalBlobStore.rehash', () => {
  it('returns the stored hash while intact and a different one after a byte is flipped on disk', async () => {
    const bytes = randomBytes(2 * MiB + 1);
    const result = await store.ingest(chunksOf(bytes, 100 * KiB), { maxBytes: 10 * MiB });
    const { key } = await result.commit();
    expect(await store.rehash(result.sha256)).toBe(result.sha256);

    const path = join(root, key);
    await chmod(path, 0o644);
    const handle = await open(path, 'r+');
    const position = MiB + 12345;
    await handle.write(Buffer.from([bytes[position]! ^ 0x01]), 0, 1, position);
    await handle.close();

    const actual = await store.rehash(result.sha256);
    expect(actual).not.toBe(result.sha256);
    const flipped = Buffer.from(bytes);
    flipped[position] = flipped[position]! ^ 0x01;
    expect(actual).toBe(sha256(flipped));
  });
});

describe('LocalBlobStore.withLocalFile', () => {
  it('hands a readable file with the blob\'s bytes to the callback and returns its result', async () => {
    const bytes = randomBytes(5000);
    const result = await store.ingest(chunksOf(bytes, 1000), { maxBytes: MiB });
    await result.commit();
    const read = await store.withLocalFile(result.sha256, async (path) => readFile(path));
    expect(read.equals(bytes)).toBe(true);
  });

  it('reads uncommitted bytes from the temporary file, and refuses once they are committed or discarded', async () => {
    const bytes = randomBytes(3000);
    const result = await store.ingest(chunksOf(bytes, 1000), { maxBytes: MiB });
    expect((await result.withLocalFile(async (path) => readFile(path))).equals(bytes)).toBe(true);
    expect(await storedFiles()).toEqual([]);
    await result.commit();
    await expect(result.withLocalFile(async () => 1)).rejects.toThrow(/no longer temporary/);
    const other = await store.ingest(chunksOf(randomBytes(10), 10), { maxBytes: MiB });
    await other.discard();
    await expect(other.withLocalFile(async () => 1)).rejects.toThrow(/no longer temporary/);
  });

  it('throws BlobNotFoundError without calling back when the blob is not stored', async () => {
    let called = false;
    const missing = sha256(Buffer.from('never stored'));
    await expect(
      store.withLocalFile(missing, async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(called).toBe(false);
  });
});

describe('LocalBlobStore.sweepTemporary', () => {
  it('writes uploads into a folder of this process, and never sweeps its own uploads in flight', async () => {
    const pending = await store.ingest(chunksOf(randomBytes(1000), 100), { maxBytes: MiB });
    const [part] = await temporaryFiles();
    expect(part).toMatch(/^tmp\/([0-9a-f]{16}|x)-\d+-\d+-[0-9a-f]{8}\/[0-9a-f-]{36}\.part$/);
    const longAgo = new Date(Date.now() - 48 * 3600_000);
    await utimes(join(root, part!), longAgo, longAgo);
    await utimes(dirname(join(root, part!)), longAgo, longAgo);
    expect(await store.sweepTemporary()).toBe(0);
    // Another store of this same process (another module) sees a live owner too.
    expect(await new LocalBlobStore(root).sweepTemporary()).toBe(0);
    expect((await pending.commit()).created).toBe(true);
  });

  it('removes loose .part files (versions before per-process folders) after a day, and nothing else', async () => {
    await mkdir(join(root, 'tmp'), { recursive: true });
    const old = join(root, 'tmp', 'old-upload.part');
    const recent = join(root, 'tmp', 'recent-upload.part');
    const notes = join(root, 'tmp', 'operator-notes.txt');
    for (const file of [old, recent, notes]) await writeFile(file, 'x');
    const dayAndAHalf = new Date(Date.now() - 36 * 3600_000);
    await utimes(old, dayAndAHalf, dayAndAHalf);
    await utimes(notes, dayAndAHalf, dayAndAHalf);
    const hoursAgo = new Date(Date.now() - 20 * 3600_000);
    await utimes(recent, hoursAgo, hoursAgo);
    expect(await store.sweepTemporary()).toBe(1);
    expect(await temporaryFiles()).toEqual(['tmp/operator-notes.txt', 'tmp/recent-upload.part']);
  });

  it('returns 0 when there is no temporary directory yet', async () => {
    expect(await store.sweepTemporary()).toBe(0);
  });
});

describe('LocalBlobStore.check', () => {
  it('passes on a fresh root and leaves no probe behind', async () => {
    const fresh = new LocalBlobStore(join(root, 'not-yet-created'));
    await fresh.check();
    expect(await filesIn(join(root, 'not-yet-created'))).toEqual([]);
  });

  it('fails with BlobStoreUnavailableError when the root cannot hold files', async () => {
    const blocker = join(root, 'a-file');
    await writeFile(blocker, '');
    const broken = new LocalBlobStore(join(blocker, 'store'));
    await expect(broken.check()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await expect(broken.check()).rejects.toThrow(/cannot take blobs/);
  });

  it('makes ingest fail cleanly, and destroys the source, when the root cannot hold files', async () => {
    await mkdir(join(root, 'blocked'));
    await writeFile(join(root, 'blocked', 'tmp'), ''); // a file where the temporary directory goes
    const broken = new LocalBlobStore(join(root, 'blocked'));
    const source = new PassThrough();
    await expect(broken.ingest(source, { maxBytes: MiB })).rejects.toMatchObject({ code: expect.any(String) });
    expect(source.destroyed).toBe(true);
  });
});

describe('FileSink across several writers of one file (a resumable upload)', () => {
  it('flushes every 64 MiB of the file across sinks, each told where the flushes of the file stand', async () => {
    const path = join(root, 'upload');
    await writeFile(path, '');
    const block = randomBytes(8 * MiB);
    let position = 0;
    const durable: number[] = [];
    for (let i = 0; i < 9; i++) {
      const handle = await open(path, 'r+');
      const sink = new FileSink(handle, position, MiB, { flushedTo: position - (position % FLUSH_EVERY_BYTES), background: true });
      await pipeline(Readable.from([block]), sink);
      position = sink.position;
      await sink.flushed();
      durable.push(sink.durableTo);
      await handle.close();
    }
    // Eight sinks of 8 MiB each stay below the first 64 MiB; the ninth crosses it and flushes.
    expect(durable).toEqual([0, 0, 0, 0, 0, 0, 0, 64 * MiB, 64 * MiB]);
    expect((await stat(path)).size).toBe(72 * MiB);
  });

  it('a sink that continues an earlier one writes while that flush runs, and inherits what it reached or its failure', async () => {
    /** A real handle whose datasync waits for `release` and then succeeds or fails. */
    const withHeldSync = (handle: FileHandle, outcome: 'ok' | 'fail') => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const proxy = new Proxy(handle, {
        get(target, key) {
          if (key === 'datasync') return () => held.then(() => (outcome === 'ok' ? target.datasync() : Promise.reject(new Error('EIO: the disk failed'))));
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return { proxy, release };
    };
    for (const outcome of ['ok', 'fail'] as const) {
      const path = join(root, `continued-${outcome}`);
      await writeFile(path, '');
      const first = await open(path, 'r+');
      const held = withHeldSync(first, outcome);
      const earlier = new FileSink(held.proxy, 0, MiB, { background: true });
      await pipeline(Readable.from([randomBytes(64 * MiB)]), earlier); // crosses 64 MiB: its flush starts, held
      const second = await open(path, 'r+');
      const later = new FileSink(second, earlier.position, MiB, { flushedTo: 64 * MiB, background: true, continues: earlier });
      await pipeline(Readable.from([randomBytes(8 * MiB)]), later); // ends although the earlier flush is held
      expect(later.position).toBe(72 * MiB);
      expect(later.durableTo).toBe(0);
      held.release();
      if (outcome === 'ok') {
        await later.flushed();
        expect(later.durableTo).toBe(64 * MiB);
        expect(later.flushFailed).toBe(false);
      } else {
        await expect(later.flushed()).rejects.toThrow(/EIO/);
        expect(later.flushFailed).toBe(true);
        expect(later.durableTo).toBe(0);
      }
      await first.close();
      await second.close();
    }
  });

  it('a sink that starts where nothing was flushed yet flushes once it has 64 MiB of its own (as before)', async () => {
    const path = join(root, 'file');
    await writeFile(path, '');
    const handle = await open(path, 'r+');
    const sink = new FileSink(handle, 0, MiB);
    await pipeline(Readable.from([randomBytes(40 * MiB), randomBytes(40 * MiB)]), sink);
    expect(sink.durableTo).toBe(80 * MiB);
    await handle.close();
  });
});
