import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, readFileSync, readlinkSync } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobSource, BlobStat, BlobStore, ByteRange, CommittedBlob, IngestOptions, IngestResult } from './blob-store.js';
import { contentKey } from './content-address.js';
import { BlobNotFoundError, BlobRangeError, BlobStoreUnavailableError, BlobTooLargeError } from './errors.js';

// Large reads and writes keep syscalls few; memory stays bounded by a few of these per upload.
const CHUNK_BYTES = 1024 * 1024;
// Bytes an upload may hold in memory while the disk catches up, so network and disk overlap.
const WRITE_BUFFER_BYTES = 8 * CHUNK_BYTES;
// Bytes written between early flushes of a large upload (see FileSink).
export const FLUSH_EVERY_BYTES = 64 * CHUNK_BYTES;
const DIRECTORY_MODE = 0o750;
const TEMPORARY_FILE_MODE = 0o600;
const STORED_BLOB_MODE = 0o444;
const TEMPORARY_SUFFIX = '.part';
// A writing process touches its temporary folder this often...
const HEARTBEAT_MS = 10_000;
// ...so a folder untouched for this long belongs to a process that crashed or hangs (hosts sharing
// a store must keep their clocks within this of each other, as NTP does).
const STALE_AFTER_MS = 60_000;
// Loose `.part` files directly in tmp/ come from versions before per-process folders; those
// versions had no heartbeat, so their files keep the rule they had.
const LOOSE_STALE_AFTER_MS = 24 * 3600_000;
// `<host key>-<pid>-<start time>-<random>`; see processIdentity.
// Folders place() remembers as durable at most (the tree has 65,793; those near the root matter).
const DURABLE_FOLDERS_KEPT = 4096;
const OWNER_FOLDER = /^([0-9a-f]{16}|x)-(\d+)-(\d+)-[0-9a-f]{8}$/;

/** A temporary file of the store, as `custodia storage check` lists it. */
export interface TemporaryFile {
  /** Store-relative path, `tmp/<process folder>/<uuid>.part`. */
  path: string;
  sizeBytes: number;
  modifiedAt: Date;
  /** No live process will finish it: its writer is gone (or silent for a minute); see sweepTemporary. */
  leftover: boolean;
}

/** A blob of the store as listing finds it. */
export interface StoredBlob {
  sha256: string;
  sizeBytes: number;
}

/**
 * Blobs on a local filesystem under `<root>/sha256/ab/cd/<hex>`. Uploads are written to
 * `<root>/tmp` (same filesystem, so placing them is a link, not a copy). The root must be on a
 * POSIX filesystem with hard links; `check()` proves it.
 */
export class LocalBlobStore implements BlobStore {
  private readonly root: string;
  private readonly temporaryDir: string;
  /** This process's own folder under tmp/; nothing else writes there. */
  private readonly ownFolder: string;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Folders of the blob tree whose own name this process has made durable (fsync of their parent); see place. */
  private readonly durableFolders = new Set<string>();

  /** A store rooted at `root`; directories are created on first use. */
  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0) {
      throw new TypeError('LocalBlobStore needs the path of its root directory');
    }
    this.root = resolve(root);
    this.temporaryDir = join(this.root, 'tmp');
    const me = processIdentity();
    this.ownFolder = `${me.hostKey}-${me.pid}-${me.startTime}-${randomBytes(4).toString('hex')}`;
  }

  /** Streams `source` through SHA-256 into a fsynced temporary file; see BlobStore.ingest. */
  async ingest(source: BlobSource, opts: IngestOptions): Promise<IngestResult> {
    const { maxBytes, signal } = opts;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      abandon(source);
      throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    // A stream that fails while its temporary file is being opened keeps its error for the
    // pipeline below (which reads it from the destroyed stream); until then it is heard here, as
    // an unheard 'error' would end the process.
    holdEarlyErrors(source);
    const temporaryPath = join(this.temporaryDir, this.ownFolder, `${randomUUID()}${TEMPORARY_SUFFIX}`);
    let handle: FileHandle;
    try {
      handle = await this.createTemporary(temporaryPath);
    } catch (error) {
      // Nobody will read the rest of this upload: let its sender know now rather than stall.
      abandon(source);
      throw error;
    }

    const meter = new Sha256Meter(maxBytes);
    try {
      // pipeline destroys the source on any failure (limit, disk error, abort), so an upload
      // stops being read the moment it can no longer be stored.
      await pipeline(
        source,
        meter,
        new FileSink(handle),
        signal ? { signal } : {},
      );
      // Read-only before the fsync, so the mode is as durable as the bytes.
      await handle.chmod(STORED_BLOB_MODE);
      await handle.sync();
      await handle.close();
    } catch (error) {
      // close() waits for writes still in flight, so nothing lands after the unlink.
      await handle.close().catch(() => undefined);
      await rm(temporaryPath, { force: true }).catch(() => undefined);
      throw signal?.aborted ? signal.reason : error;
    }

    return pendingBlob(meter.sha256(), meter.bytes, temporaryPath, () => this.place(temporaryPath, meter.sha256()));
  }

  /**
   * A finished local file as a pending blob (see BlobStore.adopt): made read-only and fsynced;
   * committed by a hard link when it lies on the store's filesystem, else copied through ingest
   * (hashed again, and the copy's hash must match). The file itself stays its owner's: neither
   * commit nor discard removes it.
   */
  async adopt(path: string, sha256: string, sizeBytes: number): Promise<IngestResult> {
    const [file, root] = await Promise.all([stat(path), mkdir(this.root, { recursive: true, mode: DIRECTORY_MODE }).then(() => stat(this.root))]);
    if (file.size !== sizeBytes) throw new Error(`${path} holds ${file.size} bytes, not the ${sizeBytes} expected`);
    if (file.dev !== root.dev) {
      const copied = await this.ingest(createReadStream(path), { maxBytes: sizeBytes });
      if (copied.sha256 !== sha256) {
        await copied.discard();
        throw new Error(`${path} changed while it was copied into the store`);
      }
      return copied;
    }
    const handle = await open(path, 'r');
    try {
      await handle.chmod(STORED_BLOB_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return pendingBlob(sha256, sizeBytes, path, () => this.place(path, sha256, true), false);
  }

  /** Streams a stored blob or an inclusive range of it; the stream closes its file when it ends or is destroyed. */
  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.openBlob(sha256);
    try {
      const { size } = await handle.stat();
      if (range === undefined) return handle.createReadStream({ highWaterMark: CHUNK_BYTES });
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
        throw new BlobRangeError(range, size);
      }
      return handle.createReadStream({ start, end, highWaterMark: CHUNK_BYTES });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Size of a stored blob, or null when there is none. */
  async stat(sha256: string): Promise<BlobStat | null> {
    const path = this.pathOf(sha256);
    try {
      return { sizeBytes: (await stat(path)).size };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  /** Reads a stored blob in full and returns the SHA-256 of what is on disk now. */
  async rehash(sha256: string): Promise<string> {
    const handle = await this.openBlob(sha256);
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  /** Runs `read` on the stored file itself (read-only, 0444); see BlobStore.withLocalFile. */
  async withLocalFile<T>(sha256: string, read: (path: string) => Promise<T>): Promise<T> {
    const path = this.pathOf(sha256);
    if ((await this.stat(sha256)) === null) throw new BlobNotFoundError(sha256);
    return read(path);
  }

  /** Proves the root takes files the way commits need them: create, fsync, hard link, remove. */
  async check(): Promise<void> {
    const probe = join(this.temporaryDir, this.ownFolder, `${randomUUID()}.check${TEMPORARY_SUFFIX}`);
    const probeLink = join(this.temporaryDir, this.ownFolder, `${randomUUID()}.check-link${TEMPORARY_SUFFIX}`);
    try {
      const handle = await this.createTemporary(probe);
      try {
        await handle.writeFile('custodia readiness probe\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(probe, probeLink);
    } catch (error) {
      throw new BlobStoreUnavailableError(
        `blob store at ${this.root} cannot take blobs (it needs a writable directory on a filesystem with hard links): ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    } finally {
      await rm(probe, { force: true }).catch(() => undefined);
      await rm(probeLink, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Removes the temporary files no live process will finish, left by a crash: those in the
   * folder of a process that is provably gone, or whose folder has had no heartbeat for a minute
   * (see below), and loose ones older versions left over a day ago. Safe while other processes
   * (other API instances, on this host or others) write to the same store. Returns how many.
   *
   * Each process writes only into its own folder `tmp/<host key>-<pid>-<start time>-<random>`,
   * and touches it every 10 s while it lives. A folder's owner is provably gone when it ran on
   * this host in this PID namespace (same boot id and namespace: the host key) and no process
   * has its pid, or the one that has it started at another time (the pid was reused): then its
   * files go at once, as when a server restarts after a crash. When that cannot be known (another
   * host or container, or no /proc), a folder untouched for STALE_AFTER_MS is taken as abandoned:
   * a writer paused that long would find its upload gone and fail it, never store it half.
   * A writing store repeats this sweep every minute, so leftovers whose owner could not be proven
   * gone at start go soon after.
   */
  async sweepTemporary(): Promise<number> {
    let removed = 0;
    await this.visitTemporary(async (file, leftover) => {
      if (!leftover) return;
      try {
        await unlink(file);
        removed += 1;
      } catch (error) {
        // Another sweeper or a finishing commit got there first.
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }, true);
    return removed;
  }

  /** The temporary files of every process, and which are left over (sweepTemporary would remove those); this process's own are not listed. */
  async temporaryFiles(): Promise<TemporaryFile[]> {
    const found: TemporaryFile[] = [];
    await this.visitTemporary(async (file, leftover) => {
      const info = await lstat(file).catch(() => null);
      if (info) found.push({ path: file.slice(this.root.length + 1), sizeBytes: info.size, modifiedAt: info.mtime, leftover });
    }, false);
    return found;
  }

  /** Every stored blob, in ascending order of its SHA-256 (the order of the fan-out folders); names that are no SHA-256 are skipped. */
  async *blobs(): AsyncGenerator<StoredBlob> {
    const names = async (dir: string, pattern: RegExp): Promise<string[]> => {
      try {
        return (await readdir(dir)).filter((name) => pattern.test(name)).sort();
      } catch (error) {
        if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
        throw error;
      }
    };
    const base = join(this.root, 'sha256');
    for (const first of await names(base, /^[0-9a-f]{2}$/)) {
      for (const second of await names(join(base, first), /^[0-9a-f]{2}$/)) {
        const dir = join(base, first, second);
        for (const name of await names(dir, new RegExp(`^${first}${second}[0-9a-f]{60}$`))) {
          const info = await lstat(join(dir, name)).catch(() => null);
          if (info?.isFile()) yield { sha256: name, sizeBytes: info.size };
        }
      }
    }
  }

  private async visitTemporary(visit: (file: string, leftover: boolean) => Promise<void>, tidy: boolean): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.temporaryDir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    const now = Date.now();
    for (const entry of entries) {
      const path = join(this.temporaryDir, entry.name);
      if (entry.isFile() && entry.name.endsWith(TEMPORARY_SUFFIX)) {
        const info = await lstat(path).catch(() => null);
        if (info) await visit(path, info.mtimeMs < now - LOOSE_STALE_AFTER_MS);
        continue;
      }
      // Our own folder holds uploads in flight; anything not named like a process folder is not ours to judge.
      const owner = OWNER_FOLDER.exec(entry.name);
      if (!entry.isDirectory() || entry.name === this.ownFolder || !owner) continue;
      const leftover = await abandoned(path, owner[1]!, Number(owner[2]), owner[3]!, now);
      let files: string[];
      try {
        files = await readdir(path);
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      for (const name of files) if (name.endsWith(TEMPORARY_SUFFIX)) await visit(join(path, name), leftover);
      // Only once empty; a late file in it (it was not dead after all) keeps it.
      if (leftover && tidy) await rmdir(path).catch(() => undefined);
    }
  }

  /** Opens a new temporary file in this process's folder, which is (re)made on demand and kept alive by a heartbeat. */
  private async createTemporary(path: string): Promise<FileHandle> {
    this.startHeartbeat();
    for (let attempt = 0; ; attempt++) {
      try {
        return await open(path, 'wx', TEMPORARY_FILE_MODE);
      } catch (error) {
        // No folder yet: made at the first upload, and again if a sweeper that judged it idle
        // long ago removed it (even between our mkdir and open, hence a second try).
        if (!isErrno(error, 'ENOENT') || attempt > 1) throw error;
      }
      await mkdir(dirname(path), { recursive: true, mode: DIRECTORY_MODE });
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    let beats = 0;
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(join(this.temporaryDir, this.ownFolder), now, now).catch(() => undefined);
      if (++beats % Math.round(STALE_AFTER_MS / HEARTBEAT_MS) === 0) this.sweepTemporary().catch(() => undefined);
    }, HEARTBEAT_MS);
    // The heartbeat never keeps a process alive by itself.
    this.heartbeat.unref();
  }

  // Validation comes first: nothing but 64 lowercase hex digits ever reaches a path.
  private pathOf(sha256: string): string {
    return join(this.root, contentKey(sha256));
  }

  private async openBlob(sha256: string): Promise<FileHandle> {
    const path = this.pathOf(sha256);
    try {
      return await open(path, 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new BlobNotFoundError(sha256);
      throw error;
    }
  }

  /** Links `temporaryPath` in as the blob `sha256`; the temporary name is removed unless `keepSource` (an adopted file its owner removes). */
  private async place(temporaryPath: string, sha256: string, keepSource = false): Promise<CommittedBlob> {
    const key = contentKey(sha256);
    const finalPath = join(this.root, key);
    const directory = dirname(finalPath);
    const firstCreated = await mkdir(directory, { recursive: true, mode: DIRECTORY_MODE });
    // Folders made just now (again, if someone removed them) have names no fsync has covered yet.
    if (firstCreated !== undefined) {
      for (let dir = directory; dir.startsWith(firstCreated) && dirname(dir) !== dir; dir = dirname(dir)) this.durableFolders.delete(dir);
    }
    let created = true;
    try {
      // link(2), unlike rename(2), refuses to replace an existing name, so a stored blob is never
      // overwritten, even when two submissions of the same bytes commit at the same moment.
      await link(temporaryPath, finalPath);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      created = false;
    }
    // The blob's folder, even when the blob already existed: its creator may not have synced yet,
    // and our caller is about to acknowledge. Then the parent of each folder up to the root's,
    // which makes that folder's own name durable, unless this process already did so: folders
    // are never removed, so a name once synced stays. Names another process made are synced
    // again here, as that process may not have got to it yet. All at once: order does not matter,
    // only that every one has finished before we return.
    const syncs: Promise<void>[] = [this.syncDirectory(directory)];
    const named: string[] = [];
    // The root's own name too: the first blob stored made it, in the data folder.
    for (let dir = directory; dir !== dirname(this.root) && dirname(dir) !== dir && !this.durableFolders.has(dir); dir = dirname(dir)) {
      syncs.push(this.syncDirectory(dirname(dir)));
      named.push(dir);
    }
    // The blob has its own name now; a leftover temporary name is harmless and swept later.
    await Promise.all([...syncs, keepSource ? undefined : unlink(temporaryPath).catch(() => undefined)]);
    // A bounded memory: the few folders near the root are learnt again at once.
    if (this.durableFolders.size + named.length > DURABLE_FOLDERS_KEPT) this.durableFolders.clear();
    for (const dir of named) this.durableFolders.add(dir);
    return { key, created };
  }

  /** fsync of a directory: the names in it are durable once it returns. */
  protected async syncDirectory(path: string): Promise<void> {
    await syncToDisk(path);
  }
}

/** fsync of a file (its bytes) or a directory (the names in it). */
export async function syncToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Counts and hashes the bytes in passing, and fails as soon as the limit is crossed. */
class Sha256Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  constructor(private readonly maxBytes: number) {
    super({ highWaterMark: CHUNK_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new BlobTooLargeError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/**
 * Writes into a file handle we keep owning, so we can chmod, fsync and close it ourselves (a
 * handle's own write stream pins the handle open until the stream closes it). Chunks queued
 * behind a write in flight go out together in one writev.
 */
/**
 * Writes a stream to an open file from `position` on in large writes (the stream's chunks are
 * gathered up to WRITE_BUFFER_BYTES), flushing to disk every FLUSH_EVERY_BYTES as it goes; ends
 * with the last flush done. `position` is where the next byte goes (the file's end when done).
 * A file written by several sinks in turn (a resumable upload's requests) passes `flushedTo`,
 * where its last flush ended, so it is flushed every FLUSH_EVERY_BYTES across them, and
 * `background` so a sink ends without waiting for its last flush: its owner keeps the handle
 * open until `flushed()` settles, and learns there whether the bytes reached the disk; the next
 * sink of the file passes `continues` (the earlier sink), so that flush overlaps its writing.
 */
export class FileSink extends Writable {
  private flushedTo: number;
  private flushing: Promise<void> = Promise.resolve();
  private flushError: Error | undefined;
  private readonly background: boolean;
  /** Bytes before this position are on disk: the last flush that succeeded covered them. */
  durableTo: number;

  constructor(
    private readonly handle: FileHandle,
    public position = 0,
    bufferBytes = WRITE_BUFFER_BYTES,
    options: { flushedTo?: number; background?: boolean; continues?: FileSink } = {},
  ) {
    super({ highWaterMark: bufferBytes });
    this.flushedTo = options.flushedTo ?? position;
    this.durableTo = this.flushedTo;
    this.background = options.background ?? false;
    const earlier = options.continues;
    if (earlier) {
      // The earlier sink's flush may still run: this one waits for it only before a flush of
      // its own, and inherits its outcome (what reached the disk, or the failure).
      this.durableTo = earlier.durableTo;
      this.flushing = earlier.flushing.then(() => {
        if (earlier.flushError) this.flushError ??= earlier.flushError;
        else this.durableTo = Math.max(this.durableTo, earlier.durableTo);
      });
    }
  }

  /** A flush of this file (this sink's, or one it continues) failed: bytes after `durableTo` may not be on disk. */
  get flushFailed(): boolean {
    return this.flushError !== undefined;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    if (this.flushError) throw this.flushError;
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, this.position);
      if (bytesWritten === 0) throw new Error('the disk accepted no bytes; is it full?');
      this.position += bytesWritten;
      pending = afterWritten(pending, bytesWritten);
    }
    // Flush to disk as the file grows, beside the writing, so the final fsync finds little left
    // and a large file's write-back overlaps the hashing instead of following it.
    if (this.position - this.flushedTo >= FLUSH_EVERY_BYTES) {
      await this.flushing;
      const to = this.position;
      this.flushedTo = to;
      this.flushing = this.handle.datasync().then(
        () => {
          this.durableTo = to;
        },
        (error: Error) => {
          this.flushError ??= error;
        },
      );
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.background) return callback(this.flushError ?? null);
    this.flushing.then(() => callback(this.flushError ?? null));
  }

  /** Settles once the flush in flight is done; rejects when a flush failed. */
  async flushed(): Promise<void> {
    await this.flushing;
    if (this.flushError) throw this.flushError;
  }
}

// What is left of `buffers` once the first `written` bytes are on disk (short writes are legal).
function afterWritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let index = 0;
  while (index < buffers.length && skip >= buffers[index]!.length) {
    skip -= buffers[index]!.length;
    index += 1;
  }
  const rest = buffers.slice(index);
  if (rest.length > 0 && skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}

function pendingBlob(
  sha256: string,
  sizeBytes: number,
  temporaryPath: string,
  place: () => Promise<CommittedBlob>,
  /** Whether discard removes the file (ours), or leaves it to its owner (an adopted file). */
  removeOnDiscard = true,
): IngestResult {
  let committing: Promise<CommittedBlob> | undefined;
  let discarded = false;
  return {
    sha256,
    sizeBytes,
    remote: false,
    commit() {
      if (!committing) {
        if (discarded) {
          return Promise.reject(new Error(`the upload of ${sha256} was discarded; ingest it again to store it`));
        }
        committing = place();
      }
      return committing;
    },
    async withLocalFile(read) {
      if (committing || discarded) throw new Error(`the upload of ${sha256} is no longer temporary; read the stored blob instead`);
      return read(temporaryPath);
    },
    async discard() {
      discarded = true;
      // Removing the temporary name never touches a committed blob (it has its own link), so this
      // is safe in every state; waiting only keeps it from racing a commit in flight.
      await committing?.catch(() => undefined);
      if (removeOnDiscard) await rm(temporaryPath, { force: true });
    },
  };
}

// Hears a stream source's first error until the pipeline that reads it listens itself (the
// pipeline still sees the error: it reads it from the destroyed stream).
function holdEarlyErrors(source: BlobSource): void {
  const once = (source as { once?: unknown }).once;
  if (typeof once === 'function') once.call(source, 'error', () => undefined);
}

// Stops a stream source we will not read; no error argument, because a source without an
// 'error' listener would crash the process on one.
function abandon(source: BlobSource): void {
  const destroy = (source as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') destroy.call(source);
}

interface ProcessIdentity {
  /** Boot id and PID namespace, hashed: equal means pids are comparable; `x` where /proc cannot tell. */
  hostKey: string;
  pid: number;
  /** Clock ticks from boot to the process's start (/proc/<pid>/stat field 22), telling a reused pid apart; 0 when unknown. */
  startTime: string;
}

let identity: ProcessIdentity | undefined;

/** Who this process is, as other processes judge whether it still lives. */
function processIdentity(): ProcessIdentity {
  if (identity && identity.pid === process.pid) return identity;
  let hostKey = 'x';
  let startTime = '0';
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = readlinkSync('/proc/self/ns/pid');
    hostKey = createHash('sha256').update(`${boot}\n${namespace}`).digest('hex').slice(0, 16);
    startTime = startTimeIn(readFileSync(`/proc/${process.pid}/stat`, 'utf8')) ?? '0';
  } catch {
    // Not Linux, or /proc hidden: other processes fall back to the heartbeat.
  }
  identity = { hostKey, pid: process.pid, startTime };
  return identity;
}

function startTimeIn(stat: string): string | null {
  // The command name (field 2) may hold spaces and parentheses; fields after it do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

/** Whether a process folder's writer will never finish its files; see LocalBlobStore.sweepTemporary. */
async function abandoned(folder: string, hostKey: string, pid: number, startTime: string, now: number): Promise<boolean> {
  const me = processIdentity();
  if (hostKey !== 'x' && hostKey === me.hostKey && startTime !== '0' && pid > 0) {
    let exists = true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      // EPERM: it exists, as another user.
      exists = !isErrno(error, 'ESRCH');
    }
    if (!exists) return true;
    const current = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
    if (current !== null) return startTimeIn(current) !== startTime;
  }
  const info = await stat(folder).catch(() => null);
  return info !== null && info.mtimeMs < now - STALE_AFTER_MS;
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
