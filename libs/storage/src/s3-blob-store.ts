import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobSource, BlobStat, BlobStore, ByteRange, CommittedBlob, IngestOptions, IngestResult } from './blob-store.js';
import { assertSha256Hex, contentKey } from './content-address.js';
import { BlobNotFoundError, BlobRangeError, BlobStoreUnavailableError } from './errors.js';
import { LocalBlobStore, type StoredBlob, type TemporaryFile } from './local-blob-store.js';

/** A blob's key, `sha256/ab/cd/<abcd...>`, with the hash. */
const BLOB_KEY = /^sha256\/([0-9a-f]{2})\/([0-9a-f]{2})\/(\1\2[0-9a-f]{60})$/;

const MIB = 1024 * 1024;
// Files above this go up in parts: a failed part is retried alone, and parts go up side by side.
const MULTIPART_ABOVE_BYTES = 16 * MIB;
// Each part in flight is held in memory by lib-storage: PART_BYTES x PARTS_AT_ONCE per upload.
const PART_BYTES = 8 * MIB;
const PARTS_AT_ONCE = 4;
// S3 allows 10,000 parts; a 5 GiB file at 8 MiB is 640, a larger one gets larger parts.
const MAX_PARTS = 9_000;
// Outside `sha256/`, so no probe can ever be taken for, or collide with, a blob.
const PROBE_PREFIX = 'custodia-probe/';
// A passed write probe is trusted this long; in between, check() only asks for the bucket. On a
// bucket with object lock every probe write leaves a locked version behind, so readiness polls
// every few seconds must not each write one.
const PROBE_VALID_MS = 60_000;

export interface S3BlobStoreOptions {
  /** `http(s)://host:port` of the S3 API. */
  endpoint: string;
  bucket: string;
  region: string;
  /** Both unset: the SDK's default credential chain. */
  accessKeyId?: string | null;
  secretAccessKey?: string | null;
  forcePathStyle: boolean;
  /** Local folder where uploads are hashed and kept until they are committed (a LocalBlobStore root). */
  stagingDir: string;
  /** Files larger than this are uploaded in parts (default 16 MiB). */
  multipartAboveBytes?: number;
  /** Size of one part (default 8 MiB; S3's least is 5 MiB). */
  partBytes?: number;
}

/**
 * Blobs in an S3-compatible bucket under the same content-addressed keys as on disk
 * (`sha256/ab/cd/<hex>`), written once and never overwritten or deleted from here.
 *
 * Bytes arrive into a local staging LocalBlobStore first: they are hashed and durable there
 * before the caller compares the hash, and only `commit` sends them to the bucket, with their
 * SHA-256 so the store checks what it received (a whole-object `x-amz-checksum-sha256` for a
 * single PUT; a SHA-256 per part for a multipart upload). Write-once: a HEAD first, so bytes
 * already stored are not sent again, and `If-None-Match: *` on the write, so of two processes
 * committing the same bytes at once one writes and the other finds it stored (412). A store
 * that answers the condition with 501 is written without it from then on (the HEAD remains);
 * one that ignores the header, as s3rver does, leaves a window between HEAD and PUT in which two
 * writers of the same bytes both write them; the bytes are the same, and on a bucket with
 * versioning or object lock (README) nothing stored is lost.
 */
export class S3BlobStore implements BlobStore {
  /** The SDK client, for readiness and tests; nothing else should write through it. */
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly where: string;
  private readonly staging: LocalBlobStore;
  private readonly multipartAboveBytes: number;
  private readonly partBytes: number;
  private conditionalWrites = true;
  private probedAt = 0;

  constructor(options: S3BlobStoreOptions) {
    const { endpoint, bucket, region, accessKeyId, secretAccessKey, forcePathStyle } = options;
    this.bucket = bucket;
    this.where = `bucket ${bucket} at ${endpoint}`;
    this.client = new S3Client({
      endpoint,
      region,
      forcePathStyle,
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      // Checksums where we ask for them (SHA-256 on every blob write), not the SDK's default
      // CRC32 trailers on everything: self-hosted stores differ in what they make of those.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // Reads are hashed by whoever needs it (rehash, withLocalFile, fixity), against the SHA-256
      // the archive recorded, which is the one that matters.
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    this.staging = new LocalBlobStore(options.stagingDir);
    this.multipartAboveBytes = options.multipartAboveBytes ?? MULTIPART_ABOVE_BYTES;
    this.partBytes = Math.max(5 * MIB, options.partBytes ?? PART_BYTES);
  }

  /** Hashes `source` into the local staging area; `commit` uploads it, `discard` drops it. */
  async ingest(source: BlobSource, opts: IngestOptions): Promise<IngestResult> {
    const staged = await this.staging.ingest(source, opts);
    return this.pending(
      staged.sha256,
      staged.sizeBytes,
      (read) => staged.withLocalFile(read),
      async () => {
        const committed = await staged.withLocalFile((file) => this.upload(file, staged.sha256, staged.sizeBytes));
        // In the bucket now: the staged copy has done its work.
        await staged.discard();
        return committed;
      },
      () => staged.discard(),
    );
  }

  /**
   * A finished local file (a resumable upload, which stays on local disk until it is complete)
   * as a pending blob: `commit` uploads it as `ingest` does; the file stays its owner's either way.
   */
  async adopt(file: string, sha256: string, sizeBytes: number): Promise<IngestResult> {
    assertSha256Hex(sha256);
    const info = await stat(file);
    if (info.size !== sizeBytes) throw new Error(`${file} holds ${info.size} bytes, not the ${sizeBytes} expected`);
    return this.pending(
      sha256,
      sizeBytes,
      (read) => read(file),
      () => this.upload(file, sha256, sizeBytes),
      async () => undefined,
    );
  }

  /** Streams a stored blob, or the inclusive `range` of it, from one (ranged) GET. */
  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = contentKey(sha256);
    if (range !== undefined) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new BlobRangeError(range, await this.sizeOrThrow(sha256));
      }
    }
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(sha256);
      if (range && statusOf(error) === 416) throw new BlobRangeError(range, await this.sizeOrThrow(sha256));
      throw this.unavailable(`cannot read ${key}`, error);
    }
    const body = response.Body as Readable;
    if (!range) return body;
    // What the store sent: `bytes first-last/total`, or the whole object when it ignored the Range.
    const answered = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? '');
    const total = answered ? Number(answered[3]) : (response.ContentLength ?? NaN);
    const first = answered ? Number(answered[1]) : 0;
    const last = answered ? Number(answered[2]) : total - 1;
    // S3 answers a range that runs past the end with what there is; the interface refuses it.
    if (!Number.isSafeInteger(total) || range.end >= total || first > range.start || last < range.end) {
      body.destroy();
      throw new BlobRangeError(range, Number.isSafeInteger(total) ? total : await this.sizeOrThrow(sha256));
    }
    // Some stores send more than asked (s3rver answers `bytes=0-0` with the whole object):
    // the caller gets exactly the bytes it asked for.
    if (first === range.start && last === range.end) return body;
    return body.pipe(new ByteWindow(range.start - first, range.end - range.start + 1, body));
  }

  /** Size of a stored blob from a HEAD, or null when there is none. */
  async stat(sha256: string): Promise<BlobStat | null> {
    const key = contentKey(sha256);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { sizeBytes: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.unavailable(`cannot ask for ${key}`, error);
    }
  }

  /** Reads the stored object in full and returns the SHA-256 of what the bucket holds now. */
  async rehash(sha256: string): Promise<string> {
    const hash = createHash('sha256');
    const body = await this.open(sha256);
    try {
      for await (const chunk of body) hash.update(chunk as Buffer);
    } catch (error) {
      throw this.unavailable(`reading ${contentKey(sha256)} broke off`, error);
    }
    return hash.digest('hex');
  }

  /**
   * Downloads the blob into the staging area (hashed on the way), runs `read` on that copy and
   * removes it. A copy whose bytes are not the blob's is never handed out: decoders and metadata
   * readers see the evidence or nothing.
   */
  async withLocalFile<T>(sha256: string, read: (path: string) => Promise<T>): Promise<T> {
    const body = await this.open(sha256);
    const copy = await this.staging.ingest(body, { maxBytes: Number.MAX_SAFE_INTEGER }).catch((error: unknown) => {
      throw this.unavailable(`reading ${contentKey(sha256)} broke off`, error);
    });
    try {
      if (copy.sha256 !== sha256) {
        throw new Error(`the bytes stored under ${contentKey(sha256)} in ${this.where} are no longer those of sha256 ${sha256}`);
      }
      return await copy.withLocalFile(read);
    } finally {
      await copy.discard();
    }
  }

  /**
   * Proves the bucket takes blobs: writes, reads back and deletes a probe object outside
   * `sha256/` (at most once a minute; in between a HEAD of the bucket), and that the staging
   * folder takes files.
   */
  async check(): Promise<void> {
    try {
      await this.staging.check();
      if (Date.now() - this.probedAt < PROBE_VALID_MS) {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
        return;
      }
      const key = `${PROBE_PREFIX}${randomUUID()}`;
      const text = `custodia readiness probe ${new Date().toISOString()}\n`;
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: 'text/plain' }));
      try {
        const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        const back = await got.Body!.transformToString();
        if (back !== text) throw new Error(`the probe object ${key} read back different bytes`);
      } finally {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      }
      this.probedAt = Date.now();
    } catch (error) {
      this.probedAt = 0;
      if (error instanceof BlobStoreUnavailableError) throw error;
      throw this.unavailable('cannot take blobs (write, read and delete of a probe object)', error);
    }
  }

  /** Removes staged uploads a crashed process left (the bucket itself holds no temporary objects of ours). */
  sweepTemporary(): Promise<number> {
    return this.staging.sweepTemporary();
  }

  /** The staging area's temporary files (see LocalBlobStore.temporaryFiles). */
  temporaryFiles(): Promise<TemporaryFile[]> {
    return this.staging.temporaryFiles();
  }

  /**
   * Every blob in the bucket, in ascending order of its SHA-256 (S3 lists keys in byte order, and
   * every key has the same shape); other keys (the readiness probe's) are skipped. Needs
   * s3:ListBucket, which reads need anyway.
   */
  async *blobs(): AsyncGenerator<StoredBlob> {
    for await (const page of paginateListObjectsV2({ client: this.client, pageSize: 1000 }, { Bucket: this.bucket, Prefix: 'sha256/' })) {
      for (const object of page.Contents ?? []) {
        const sha256 = BLOB_KEY.exec(object.Key ?? '')?.[3];
        if (sha256) yield { sha256, sizeBytes: object.Size ?? 0 };
      }
    }
  }

  /** Stops the client's connections. */
  close(): void {
    this.client.destroy();
  }

  /** Sends a complete local file to the bucket as the blob `sha256`, unless it is there already. */
  private async upload(file: string, sha256: string, sizeBytes: number, attempt = 1): Promise<CommittedBlob> {
    const key = contentKey(sha256);
    if ((await this.stat(sha256)) !== null) return { key, created: false };
    try {
      await this.write(file, key, sha256, sizeBytes);
    } catch (error) {
      // Another process wrote these bytes between our HEAD and our write.
      if (isConditionFailed(error)) return { key, created: false };
      // Another write of this key was in flight (409), or the store has no conditional writes
      // (501): look again, and write without the condition in the second case.
      if (attempt < 3 && (isConditionConflict(error) || (this.conditionalWrites && isNotImplemented(error)))) {
        if (isNotImplemented(error)) this.conditionalWrites = false;
        return this.upload(file, sha256, sizeBytes, attempt + 1);
      }
      throw this.unavailable(`cannot store ${key}`, error);
    }
    // Only a stored object of the expected size counts as committed.
    const stored = await this.stat(sha256);
    if (stored?.sizeBytes !== sizeBytes) {
      throw new BlobStoreUnavailableError(`${this.where} holds ${stored ? `${stored.sizeBytes} bytes` : 'nothing'} under ${key} after writing ${sizeBytes}`);
    }
    return { key, created: true };
  }

  private async write(file: string, key: string, sha256: string, sizeBytes: number): Promise<void> {
    const condition = this.conditionalWrites ? { IfNoneMatch: '*' } : {};
    if (sizeBytes <= this.multipartAboveBytes) {
      // Opened first, so a file that is gone (a finished upload its owner deleted meanwhile)
      // fails here; a read that fails later stops the request. The SDK only pipes the body and
      // hears none of its errors: unheard, one would end the process.
      const handle = await open(file, 'r');
      const body = handle.createReadStream();
      const stop = new AbortController();
      let readFailure: Error | undefined;
      body.on('error', (error) => {
        readFailure ??= error;
        stop.abort(error);
      });
      try {
        // The whole file's SHA-256, computed as it arrived: the store refuses bytes that differ (400 BadDigest).
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: sizeBytes,
            ContentType: 'application/octet-stream',
            ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
            ...condition,
          }),
          { abortSignal: stop.signal },
        );
      } catch (error) {
        throw readFailure ?? error;
      } finally {
        body.destroy();
      }
      return;
    }
    // S3 keeps no whole-object SHA-256 of a multipart upload, only one per part: the SDK sends
    // each part's, and the store refuses a part whose bytes differ. The condition goes with
    // the completion, where S3 checks it.
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentType: 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
        ...condition,
      },
      partSize: Math.max(this.partBytes, Math.ceil(sizeBytes / MAX_PARTS)),
      queueSize: PARTS_AT_ONCE,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  private pending(
    sha256: string,
    sizeBytes: number,
    readLocal: <T>(read: (path: string) => Promise<T>) => Promise<T>,
    commit: () => Promise<CommittedBlob>,
    drop: () => Promise<void>,
  ): IngestResult {
    let committing: Promise<CommittedBlob> | undefined;
    let committed = false;
    let discarded = false;
    return {
      sha256,
      sizeBytes,
      remote: true,
      commit() {
        if (discarded) return Promise.reject(new Error(`the upload of ${sha256} was discarded; ingest it again to store it`));
        if (!committing) {
          committing = commit().then(
            (result) => {
              committed = true;
              return result;
            },
            (error: unknown) => {
              // A network failure may pass: the staged bytes are still here for another try.
              committing = undefined;
              throw error;
            },
          );
        }
        return committing;
      },
      async withLocalFile(read) {
        if (committed || committing || discarded) throw new Error(`the upload of ${sha256} is no longer temporary; read the stored blob instead`);
        return readLocal(read);
      },
      async discard() {
        discarded = true;
        await committing?.catch(() => undefined);
        await drop();
      },
    };
  }

  private async sizeOrThrow(sha256: string): Promise<number> {
    const found = await this.stat(sha256);
    if (found === null) throw new BlobNotFoundError(sha256);
    return found.sizeBytes;
  }

  private unavailable(what: string, error: unknown): Error {
    if (error instanceof BlobStoreUnavailableError || error instanceof BlobNotFoundError || error instanceof BlobRangeError) return error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new BlobStoreUnavailableError(`${this.where} ${what}: ${reason}`, { cause: error });
  }
}

/** Passes `length` bytes after skipping `skip`, then ends and stops the source. */
export class ByteWindow extends Transform {
  constructor(
    private skip: number,
    private left: number,
    private readonly source: Readable,
  ) {
    super();
    // Whoever destroys what we hand out also stops the download.
    this.once('close', () => source.destroy());
    source.once('error', (error) => this.destroy(error));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.left === 0) {
      callback();
      return;
    }
    let part = chunk;
    if (this.skip > 0) {
      const skipped = Math.min(this.skip, part.length);
      this.skip -= skipped;
      part = part.subarray(skipped);
    }
    if (this.left > 0 && part.length > 0) {
      const kept = part.subarray(0, this.left);
      this.left -= kept.length;
      this.push(kept);
    }
    if (this.left === 0) {
      this.push(null);
      this.source.unpipe(this);
      this.source.destroy();
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A body that ended early is a broken read, not a shorter file.
    callback(this.left > 0 ? new BlobStoreUnavailableError(`the store sent ${this.left} bytes fewer than the range asked for`) : null);
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string | undefined {
  return (error as { name?: string } | null)?.name;
}

function isNotFound(error: unknown): boolean {
  const name = nameOf(error);
  // A missing bucket is a store that cannot serve, not a missing blob.
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function isConditionFailed(error: unknown): boolean {
  return statusOf(error) === 412 || nameOf(error) === 'PreconditionFailed';
}

function isConditionConflict(error: unknown): boolean {
  return nameOf(error) === 'ConditionalRequestConflict';
}

function isNotImplemented(error: unknown): boolean {
  return statusOf(error) === 501 || nameOf(error) === 'NotImplemented';
}
