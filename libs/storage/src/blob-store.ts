import type { Readable } from 'node:stream';

/** Bytes to store: an upload's file stream, or any producer of chunks. */
export type BlobSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export interface IngestOptions {
  /** Largest accepted size; one byte more stops the upload with BlobTooLargeError. */
  maxBytes: number;
  /** Aborting stops the upload; ingest then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What an HTTP read of a stored blob asks for: the range to send, chosen from the blob's size and
 * hash (If-Range compares the hash), and whether only the headers go out (HEAD: no byte is read).
 */
export interface BlobRead {
  pickRange(sizeBytes: number, sha256: string): ByteRange | null;
  headersOnly: boolean;
}

/** The details a read's custody event names: the range sent, or that no byte was (HEAD). */
export function readDetails(read: BlobRead, range: ByteRange | null): { range?: string; method?: 'HEAD' } {
  return { ...(range ? { range: `bytes=${range.start}-${range.end}` } : {}), ...(read.headersOnly ? { method: 'HEAD' as const } : {}) };
}

export interface CommittedBlob {
  /** Store-relative key (`sha256/ab/cd/<hex>`), the same whatever the backend; never a filesystem path. */
  key: string;
  /** False when a blob with these bytes was already stored; the existing one was kept untouched. */
  created: boolean;
}

/**
 * Bytes that arrived in full and are durable, but not yet part of the store. The caller compares
 * the hash (device hash, idempotency key) and then either commits or discards.
 */
export interface IngestResult {
  readonly sha256: string;
  readonly sizeBytes: number;
  /**
   * Whether commit sends the bytes to another server (a bucket), taking as long as the file
   * does to travel: a caller commits such a blob before its database transaction, not inside it.
   */
  readonly remote: boolean;
  /** Makes the blob part of the store, durably; idempotent, and never overwrites a stored blob. */
  commit(): Promise<CommittedBlob>;
  /** Drops the uncommitted bytes; a no-op after a successful commit, so it can sit in a `finally`. */
  discard(): Promise<void>;
  /** Runs `read` on a local file of the uncommitted bytes (before commit or discard only); `read` must only read. */
  withLocalFile<T>(read: (path: string) => Promise<T>): Promise<T>;
}

export interface BlobStat {
  sizeBytes: number;
}

/**
 * Content-addressed, write-once storage of original files. Blobs are named by the SHA-256 of
 * their bytes, stored once per hash, and never changed or deleted through this interface.
 */
export interface BlobStore {
  /** Streams `source` through SHA-256 into durable temporary storage, with flat memory; nothing is left behind on failure. */
  ingest(source: BlobSource, opts: IngestOptions): Promise<IngestResult>;
  /**
   * Takes over a complete local file the caller has hashed itself (a finished resumable upload)
   * without copying it where it can (same filesystem: a hard link at commit): the file becomes
   * read-only and durable here; it stays the caller's to remove (after its own commit), and a
   * discard leaves it. `sha256` and `sizeBytes` must be what the caller computed from the bytes.
   */
  adopt(path: string, sha256: string, sizeBytes: number): Promise<IngestResult>;
  /** Streams a stored blob, or the inclusive `range` of it; throws BlobNotFoundError or BlobRangeError. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Size of a stored blob, or null when none is stored under this hash. */
  stat(sha256: string): Promise<BlobStat | null>;
  /** SHA-256 of the bytes actually stored now, read back in full; differs from `sha256` after tampering. */
  rehash(sha256: string): Promise<string>;
  /**
   * Runs `read` with the path of a local file holding the blob's bytes (for tools that need a
   * file, such as image decoders): the stored file itself here, a temporary copy for a remote
   * store. `read` must only read it. Throws BlobNotFoundError.
   */
  withLocalFile<T>(sha256: string, read: (path: string) => Promise<T>): Promise<T>;
  /** Resolves when the store can take blobs; throws BlobStoreUnavailableError otherwise. */
  check(): Promise<void>;
  /** Removes temporary uploads no live process will finish (left by a crash), safe beside other writers; returns how many. */
  sweepTemporary(): Promise<number>;
}
