import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../../test/support/s3.js';
import { contentKey } from './content-address.js';
import { BlobNotFoundError, BlobRangeError, BlobStoreUnavailableError, BlobTooLargeError, InvalidBlobHashError } from './errors.js';
import { ByteWindow, S3BlobStore } from './s3-blob-store.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const base64Sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('base64');
const MIB = 1024 * 1024;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

interface SentRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: unknown;
}

describe('S3BlobStore against s3rver', () => {
  let s3: TestS3;
  let work: string;
  let stagingDir: string;
  let store: S3BlobStore;
  let sent: SentRequest[];

  beforeAll(async () => {
    s3 = await startS3();
    work = await mkdtemp(path.join(os.tmpdir(), 'custodia-s3-store-'));
    stagingDir = path.join(work, 'staging');
    store = new S3BlobStore({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      stagingDir,
    });
    // What the SDK puts on the wire, after checksums and signing.
    store.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { method: string; path: string; query: Record<string, unknown>; headers: Record<string, string>; body: unknown };
        sent.push({ method: request.method, path: request.path, query: { ...request.query }, headers: { ...request.headers }, body: request.body });
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'recordRequests' },
    );
  });

  afterAll(async () => {
    store?.close();
    await s3?.close();
    await rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    sent = [];
  });

  const stagedFiles = () => filesUnder(path.join(stagingDir, 'tmp'));
  const put = async (bytes: Buffer) => {
    const result = await store.ingest(Readable.from([bytes]), { maxBytes: 100 * MIB });
    return { result, committed: await result.commit() };
  };

  it('round trip: ingest hashes into staging, commit stores under the content key with the SHA-256 sent, staging emptied', async () => {
    const bytes = randomBytes(300_000);
    const result = await store.ingest(Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]), { maxBytes: 1 * MIB });
    expect(result.sha256).toBe(sha256(bytes));
    expect(result.sizeBytes).toBe(bytes.length);
    expect(await stagedFiles()).toHaveLength(1);
    // Before commit the bytes are local and readable, and nothing is in the bucket.
    expect(await result.withLocalFile((file) => readFile(file))).toEqual(bytes);
    expect(await store.stat(result.sha256)).toBeNull();

    const committed = await result.commit();
    expect(committed).toEqual({ key: `sha256/${result.sha256.slice(0, 2)}/${result.sha256.slice(2, 4)}/${result.sha256}`, created: true });
    expect(committed.key).toBe(contentKey(result.sha256));
    expect(await readFile(s3.objectFile(committed.key))).toEqual(bytes);
    expect(await readAll(await store.open(result.sha256))).toEqual(bytes);
    expect(await stagedFiles()).toEqual([]);
    // Committing again answers the same, without another write.
    expect(await result.commit()).toEqual(committed);
    await expect(result.withLocalFile(async () => 1)).rejects.toThrow(/no longer temporary/);

    const puts = sent.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.path).toBe(`/${s3.bucket}/${committed.key}`);
    expect(puts[0]!.headers['x-amz-checksum-sha256']).toBe(base64Sha256(bytes));
    expect(puts[0]!.headers['if-none-match']).toBe('*');
    expect(puts[0]!.headers['content-length']).toBe(String(bytes.length));
  });

  it('write-once: the same bytes again are created: false, with a HEAD and no write, and the stored object is untouched', async () => {
    const bytes = randomBytes(50_000);
    const first = await put(bytes);
    expect(first.committed.created).toBe(true);
    const file = s3.objectFile(first.committed.key);
    const before = await stat(file);
    sent = [];

    const second = await put(bytes);
    expect(second.committed).toEqual({ key: first.committed.key, created: false });
    expect(sent.map((r) => r.method)).toEqual(['HEAD']);
    const after = await stat(file);
    expect([after.mtimeMs, after.ino]).toEqual([before.mtimeMs, before.ino]);
    expect(await readFile(file)).toEqual(bytes);
    expect(await stagedFiles()).toEqual([]);
  });

  it('ranged reads, stat and the errors of the interface', async () => {
    const bytes = randomBytes(10_000);
    const { result } = await put(bytes);
    const hex = result.sha256;
    expect(await store.stat(hex)).toEqual({ sizeBytes: 10_000 });
    expect(await readAll(await store.open(hex, { start: 0, end: 0 }))).toEqual(bytes.subarray(0, 1));
    expect(await readAll(await store.open(hex, { start: 1234, end: 5678 }))).toEqual(bytes.subarray(1234, 5679));
    expect(await readAll(await store.open(hex, { start: 9999, end: 9999 }))).toEqual(bytes.subarray(9999));
    const ranged = sent.filter((r) => r.method === 'GET').map((r) => r.headers['range']);
    expect(ranged).toEqual(['bytes=0-0', 'bytes=1234-5678', 'bytes=9999-9999']);
    // A whole range read to its end, and one abandoned half-way, leave no connection hanging.
    const opened = await store.open(hex, { start: 0, end: 0 });
    opened.destroy();

    for (const range of [
      { start: 0, end: 10_000 },
      { start: 10_000, end: 10_001 },
      { start: 5, end: 4 },
      { start: -1, end: 3 },
    ]) {
      const error = await store.open(hex, range).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(range)).toBeInstanceOf(BlobRangeError);
      expect((error as BlobRangeError).sizeBytes).toBe(10_000);
    }

    const missing = sha256(randomBytes(8));
    expect(await store.stat(missing)).toBeNull();
    await expect(store.open(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.open(missing, { start: 0, end: 1 })).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.rehash(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.withLocalFile(missing, async () => 1)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.open('../../etc/passwd')).rejects.toBeInstanceOf(InvalidBlobHashError);
    await expect(store.stat('ABC')).rejects.toBeInstanceOf(InvalidBlobHashError);
  });

  it('rehash reads back what the bucket holds: equal, then different once a byte is flipped in the stored object', async () => {
    const bytes = randomBytes(20_000);
    const { result, committed } = await put(bytes);
    expect(await store.rehash(result.sha256)).toBe(result.sha256);
    expect(await store.withLocalFile(result.sha256, async (file) => (await readFile(file)).equals(bytes))).toBe(true);

    const file = s3.objectFile(committed.key);
    const tampered = Buffer.from(bytes);
    tampered[12_345]! ^= 0x01;
    await writeFile(file, tampered);
    expect(await store.rehash(result.sha256)).toBe(sha256(tampered));
    expect(await store.rehash(result.sha256)).not.toBe(result.sha256);
    // A local copy for decoders is never of other bytes than the evidence's.
    await expect(store.withLocalFile(result.sha256, async () => 'read')).rejects.toThrow(/no longer those of sha256/);
    expect(await stagedFiles()).toEqual([]);
  });

  it('withLocalFile hands a temporary copy with the blob bytes and removes it after', async () => {
    const bytes = randomBytes(70_000);
    const { result } = await put(bytes);
    let seen = '';
    const same = await store.withLocalFile(result.sha256, async (file) => {
      seen = file;
      expect(file.startsWith(stagingDir)).toBe(true);
      return (await readFile(file)).equals(bytes);
    });
    expect(same).toBe(true);
    expect(existsSync(seen)).toBe(false);
    await expect(store.withLocalFile(result.sha256, async () => Promise.reject(new Error('decoder failed')))).rejects.toThrow('decoder failed');
    expect(await stagedFiles()).toEqual([]);
  });

  it('adopt uploads a finished local file on commit and leaves the file to its owner; its discard leaves it too', async () => {
    const bytes = randomBytes(123_456);
    const source = path.join(work, 'finished-upload.bin');
    await writeFile(source, bytes);

    const dropped = await store.adopt(source, sha256(bytes), bytes.length);
    await dropped.discard();
    expect(existsSync(source)).toBe(true);
    expect(await store.stat(sha256(bytes))).toBeNull();

    const adopted = await store.adopt(source, sha256(bytes), bytes.length);
    expect(await adopted.withLocalFile((file) => readFile(file))).toEqual(bytes);
    const committed = await adopted.commit();
    expect(committed).toEqual({ key: contentKey(sha256(bytes)), created: true });
    expect(await readFile(source)).toEqual(bytes);
    expect(await readAll(await store.open(sha256(bytes)))).toEqual(bytes);
    expect(sent.find((r) => r.method === 'PUT')!.headers['x-amz-checksum-sha256']).toBe(base64Sha256(bytes));
    await adopted.discard();
    expect(existsSync(source)).toBe(true);
    expect(await store.stat(sha256(bytes))).toEqual({ sizeBytes: bytes.length });

    await expect(store.adopt(source, sha256(bytes), bytes.length + 1)).rejects.toThrow(/not the 123457 expected/);
  });

  it('a finished file that is gone or cannot be read at commit fails the commit, not the process, and stores nothing', async () => {
    // Gone: the upload's owner deleted it while it was being made evidence.
    const bytes = randomBytes(1_000);
    const gone = path.join(work, 'deleted-upload.bin');
    await writeFile(gone, bytes);
    const adopted = await store.adopt(gone, sha256(bytes), bytes.length);
    await rm(gone);
    await expect(adopted.commit()).rejects.toThrow(/ENOENT/);
    expect(await store.stat(sha256(bytes))).toBeNull();
    // Opens but cannot be read (as a disk error would): a folder.
    const unreadable = path.join(work, 'a-folder');
    await mkdir(unreadable);
    const folder = await store.adopt(unreadable, 'a'.repeat(64), (await stat(unreadable)).size);
    await expect(folder.commit()).rejects.toThrow(/EISDIR/);
    expect(await store.stat('a'.repeat(64))).toBeNull();
  });

  it('discard leaves nothing: no staged file, no object, and a commit after it is refused', async () => {
    const bytes = randomBytes(40_000);
    const result = await store.ingest(Readable.from([bytes]), { maxBytes: MIB });
    expect(await stagedFiles()).toHaveLength(1);
    await result.discard();
    await result.discard();
    expect(await stagedFiles()).toEqual([]);
    await expect(result.commit()).rejects.toThrow(/discarded/);
    expect(await store.stat(result.sha256)).toBeNull();
    expect(existsSync(s3.objectFile(contentKey(result.sha256)))).toBe(false);
    expect(sent.filter((r) => r.method === 'PUT' || r.method === 'POST')).toEqual([]);
  });

  it('an upload over the limit is stopped in staging, nothing reaches the bucket', async () => {
    await expect(store.ingest(Readable.from([randomBytes(2048)]), { maxBytes: 1024 })).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(await stagedFiles()).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('a 40 MiB file goes up in parts, each with its SHA-256, and reads back byte-exact', async () => {
    const bytes = randomBytes(40 * MIB);
    const chunks = Array.from({ length: 40 }, (_, i) => bytes.subarray(i * MIB, (i + 1) * MIB));
    const result = await store.ingest(Readable.from(chunks), { maxBytes: 64 * MIB });
    const committed = await result.commit();
    expect(committed.created).toBe(true);

    const created = sent.filter((r) => r.method === 'POST' && 'uploads' in r.query);
    expect(created).toHaveLength(1);
    expect(created[0]!.headers['x-amz-checksum-algorithm']).toBe('SHA256');
    const parts = sent.filter((r) => r.method === 'PUT' && 'partNumber' in r.query);
    expect(parts).toHaveLength(5);
    let offset = 0;
    for (const part of [...parts].sort((a, b) => Number(a.query['partNumber']) - Number(b.query['partNumber']))) {
      const body = Buffer.from(part.body as Uint8Array);
      expect(body.equals(bytes.subarray(offset, offset + body.length))).toBe(true);
      expect(part.headers['x-amz-checksum-sha256']).toBe(base64Sha256(body));
      offset += body.length;
    }
    expect(offset).toBe(bytes.length);
    const completed = sent.filter((r) => r.method === 'POST' && 'uploadId' in r.query);
    expect(completed).toHaveLength(1);
    expect(completed[0]!.headers['if-none-match']).toBe('*');
    // No whole-object PUT beside the parts.
    expect(sent.filter((r) => r.method === 'PUT' && !('partNumber' in r.query))).toEqual([]);

    expect(await store.stat(result.sha256)).toEqual({ sizeBytes: bytes.length });
    expect(await store.rehash(result.sha256)).toBe(sha256(bytes));
    expect(await readAll(await store.open(result.sha256, { start: 20 * MIB - 10, end: 20 * MIB + 9 }))).toEqual(bytes.subarray(20 * MIB - 10, 20 * MIB + 10));
    expect(await stagedFiles()).toEqual([]);
  });

  it('check() writes, reads and deletes a probe outside sha256/, then trusts it for a minute', async () => {
    await store.check();
    const probes = sent.filter((r) => r.path.includes('/custodia-probe/'));
    expect(probes.map((r) => r.method)).toEqual(['PUT', 'GET', 'DELETE']);
    expect(await filesUnder(path.join(s3.directory, s3.bucket, 'custodia-probe'))).toEqual([]);
    sent = [];
    await store.check();
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([`HEAD /${s3.bucket}/`]);
  });

  it('check() and reads fail as BlobStoreUnavailableError when the bucket or the server is not there', async () => {
    const options = { region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, stagingDir };
    const noBucket = new S3BlobStore({ ...options, endpoint: s3.endpoint, bucket: 'no-such-bucket' });
    const noServer = new S3BlobStore({ ...options, endpoint: 'http://127.0.0.1:9', bucket: s3.bucket });
    try {
      await expect(noBucket.check()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(noBucket.check()).rejects.toThrow(/bucket no-such-bucket/);
      await expect(noServer.check()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      await expect(noServer.stat(sha256(Buffer.from('x')))).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      const pending = await noServer.ingest(Readable.from([Buffer.from('kept for another try')]), { maxBytes: 1024 });
      await expect(pending.commit()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
      // The staged bytes survive a failed commit; the caller discards them.
      expect(await pending.withLocalFile((file) => readFile(file, 'utf8'))).toBe('kept for another try');
      await pending.discard();
      expect(await stagedFiles()).toEqual([]);
    } finally {
      noBucket.close();
      noServer.close();
    }
  });

  it('sweepTemporary sweeps the staging area (nothing to do when no process crashed)', async () => {
    expect(await store.sweepTemporary()).toBe(0);
  });
});

describe('ByteWindow (a store that sends more than the range asked for)', () => {
  const through = (chunks: Buffer[], skip: number, length: number) => {
    const source = Readable.from(chunks);
    return readAll(source.pipe(new ByteWindow(skip, length, source)));
  };

  it('passes exactly the bytes asked for, across chunk boundaries, and stops the source', async () => {
    const bytes = randomBytes(40);
    const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 19), bytes.subarray(19)];
    expect(await through(chunks, 5, 8)).toEqual(bytes.subarray(5, 13));
    expect(await through(chunks, 0, 1)).toEqual(bytes.subarray(0, 1));
    expect(await through(chunks, 19, 21)).toEqual(bytes.subarray(19));
  });

  it('fails a body that ends before the range does', async () => {
    await expect(through([randomBytes(10)], 4, 10)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
  });
});
