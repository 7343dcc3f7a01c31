import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, truncate } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { FileStore, type Configstore } from '@tus/file-store';
import { ERRORS } from '@tus/server';
import { FileSink, FLUSH_EVERY_BYTES, syncToDisk } from '#custodia/storage';

/**
 * The `Upload-Checksum` algorithms checked, with their digests' lengths: sha1 because tus 1.0.0
 * requires every server offering the checksum extension to take it, sha256 and sha512 beside it.
 * They guard a chunk in transit only; the evidence's own hash is always SHA-256 of the whole file.
 */
export const CHUNK_CHECKSUMS = { sha1: 20, sha256: 32, sha512: 64 } as const;

/** What one tus request asks of the store's write: the `Upload-Checksum` of its body, if any. */
export interface ChunkCheck {
  algorithm: keyof typeof CHUNK_CHECKSUMS;
  /** The digest the client computed over this request's body. */
  digest: Buffer;
}

/** The tus request being served (its checksum), visible to the store's write. */
export const CURRENT_CHUNK = new AsyncLocalStorage<ChunkCheck | null>();

/** A refusal the tus server answers with `status_code` and `body`. */
export class TusRefusal extends Error {
  constructor(
    readonly status_code: number,
    readonly body: string,
  ) {
    super(body);
  }
}

/** A body longer than the upload has room for. */
class TooLong extends Error {}

/**
 * The tus file store with what evidence needs on top:
 * - the **checksum** extension (tus 1.0.0) with sha256: a request whose body does not hash to its
 *   `Upload-Checksum` is cut off again (the file is truncated back to the offset it started at)
 *   and answered 460, so the offset never moves past bytes the client did not send;
 * - a **running SHA-256** of each upload while its chunks arrive in order in this process, so the
 *   hash of a finished upload costs nothing more; after a restart or on another instance the
 *   file is read once more instead (`sha256Of`);
 * - no deferred length: the size is known at creation, so limits are enforced there.
 */
export class UploadStore extends FileStore {
  private readonly running = new Map<string, { offset: number; hash: Hash }>();
  /**
   * Each upload's last sink, whose flush may still run (its handle is closed after it); `closed`
   * tells whether the close went well (close(2) may report a write that failed late, as on NFS).
   */
  private readonly flushing = new Map<string, { sink: FileSink; closed: Promise<boolean> }>();

  constructor(options: { directory: string; configstore: Configstore; expirationPeriodInMilliseconds: number }) {
    super(options);
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum'];
  }

  override async write(readable: IncomingMessage | Readable, id: string, offset: number): Promise<number> {
    // Creation-with-upload: the tus server limits the body to the upload's length itself. A
    // refused creation's upload is removed by UploadsService.handle.
    return (await this.receive(readable, id, offset, { check: CURRENT_CHUNK.getStore() ?? null, limit: Number.MAX_SAFE_INTEGER })).offset;
  }

  /**
   * Appends one request's body to an upload from `offset`, which must be the file's size (409;
   * the caller holds the upload's lock): hashed as it passes (the running hash, and the chunk's
   * own for `check`), written in large writes. A declared `length` over `limit` is refused at
   * once (413); a body that turns out longer than `limit` (413) or does not hash to `check`
   * (460) is refused after, and the file goes back to `offset`. A body cut off
   * (the client went away, or `stop` asked this request to let go of the upload) keeps the
   * bytes that arrived, and the running hash stays right, unless it carried a checksum that can
   * no longer be checked. Never destroys `source`, so an answer can still be sent on it.
   */
  async receive(
    source: IncomingMessage | Readable,
    id: string,
    offset: number,
    { check, limit, length = null, stop }: { check: ChunkCheck | null; limit: number; length?: number | null; stop?: AbortSignal },
  ): Promise<{ offset: number; interrupted: boolean }> {
    const handle = await open(this.pathOf(id), 'r+').catch(() => null);
    if (!handle) throw new TusRefusal(410, 'The upload was removed (its client ended it, or it expired)\n');
    try {
      const received = (await handle.stat()).size;
      if (received !== offset) throw new TusRefusal(409, `Upload-Offset is ${offset}, but ${received} bytes have been received: send from there (HEAD tells)\n`);
      if (length !== null && length > limit) throw new TusRefusal(413, `The body (${length} bytes) is longer than the ${limit} bytes left of the upload\n`);
    } catch (error) {
      await handle.close();
      throw error;
    }
    // The flush an earlier request started goes on while this one receives (waiting for it here
    // left the connection idle for a whole fsync every 64 MiB): this request's sink continues it,
    // waits for it only before its own flush, and fails if it failed.
    const earlier = this.flushing.get(id);
    this.flushing.delete(id);
    const known = this.running.get(id);
    const whole = known && known.offset === offset ? known.hash : offset === 0 ? createHash('sha256') : null;
    // Taken out while this write runs; put back only when the file and the hash agree after it.
    this.running.delete(id);
    // The running hash as it was before this chunk, to go back to if the chunk is refused.
    const before = whole?.copy() ?? null;
    const chunk = check ? createHash(check.algorithm) : null;
    let received = 0;
    const hashing = new Transform({
      transform(data: Buffer, _encoding, done) {
        received += data.length;
        if (received > limit) return done(new TooLong());
        whole?.update(data);
        chunk?.update(data);
        done(null, data);
      },
    });
    // Our own write instead of the file store's (16 KiB writes): the blob store's sink, as for a
    // multipart upload. Its writes overlap the receiving, and its 8 MiB of room take a whole
    // chunk while a write is on its way to the disk, so the socket is not paused (with 1 MiB,
    // tus ran at 0.70 of multipart in the same rounds, 0.81 with 8; bench/README.md). Flushed to
    // disk every 64 MiB of the file across requests, in the background (see settle), so making
    // it evidence finds little left to fsync, as a multipart upload does.
    const sink = new FileSink(handle, offset, undefined, {
      flushedTo: offset - (offset % FLUSH_EVERY_BYTES),
      background: true,
      continues: earlier?.sink,
    });
    let interrupted = false;
    // The body ends early: what arrived is written, and the rest is not waited for.
    const cut = () => {
      if (hashing.writableEnded || hashing.destroyed) return;
      interrupted = true;
      source.unpipe(hashing);
      hashing.end();
    };
    const closed = () => {
      if (!source.readableEnded) cut();
    };
    source.once('error', cut);
    source.once('close', closed);
    stop?.addEventListener('abort', cut);
    let failure: unknown = null;
    try {
      const written = pipeline(hashing, sink);
      if (source.destroyed || stop?.aborted) cut();
      else source.pipe(hashing);
      await written;
    } catch (error) {
      failure = error;
      source.unpipe(hashing);
    } finally {
      source.off('error', cut);
      source.off('close', closed);
      stop?.removeEventListener('abort', cut);
      // Kept until the flush and the close end well (a failure waits for settle to report it);
      // never rejects: nothing may wait on it (the answer has gone), so a rejection would go unheard.
      const released = sink.flushed().then(
        async () => {
          await handle.close();
          if (this.flushing.get(id)?.sink === sink) this.flushing.delete(id);
        },
        () => handle.close(),
      );
      this.flushing.set(id, { sink, closed: released.then(() => true, () => false) });
    }
    if (sink.flushFailed) {
      // A flush of this file failed: it goes back to what surely reached the disk, and the
      // client resends from there (HEAD tells).
      await this.settle(id);
    }
    if (failure instanceof TooLong) {
      await truncate(this.pathOf(id), offset);
      if (before) this.running.set(id, { offset, hash: before });
      throw new TusRefusal(413, `The body is longer than the ${limit} bytes left of the upload; nothing of it was kept\n`);
    }
    // The bytes that reached the file count (HEAD reads its size); the running hash may have
    // seen bytes that did not, so it is dropped: the finished file is read back instead.
    if (failure) throw ERRORS.FILE_WRITE_ERROR;
    const newOffset = sink.position;
    if (check && (interrupted || !chunk!.digest().equals(check.digest))) {
      await truncate(this.pathOf(id), offset);
      if (before) this.running.set(id, { offset, hash: before });
      if (interrupted) return { offset, interrupted };
      throw new TusRefusal(460, 'Checksum Mismatch: the request body does not hash to its Upload-Checksum; nothing of it was kept\n');
    }
    if (whole) this.running.set(id, { offset: newOffset, hash: whole });
    return { offset: newOffset, interrupted };
  }

  /**
   * Waits for an upload's last flush to disk, started by an earlier request, and the close of its
   * file; when either failed, the file goes back to what surely reached the disk (the client
   * resends from there) and this fails.
   */
  private async settle(id: string): Promise<void> {
    const pending = this.flushing.get(id);
    if (!pending) return;
    this.flushing.delete(id);
    const flushed = await pending.sink.flushed().then(
      () => true,
      () => false,
    );
    if ((await pending.closed) && flushed) return;
    this.running.delete(id);
    const size = await stat(this.pathOf(id)).then((file) => file.size, () => 0);
    if (size > pending.sink.durableTo) await truncate(this.pathOf(id), pending.sink.durableTo);
    throw ERRORS.FILE_WRITE_ERROR;
  }

  /**
   * Terminates an upload: its record first (404 when there is none), its file only then. An
   * upload being made evidence keeps both: its record is held by that item's transaction until
   * it commits, and the file is the item's blob by then. (tus' own order, the file first, let a
   * termination take the file from under an item being made of it.) A crash between the two
   * leaves a file no record names, which the sweep removes.
   */
  override async remove(id: string): Promise<void> {
    this.forget(id);
    await this.configstore.delete(id);
    await rm(this.pathOf(id), { force: true });
  }

  /**
   * A finished upload of `size` bytes made durable, and its SHA-256 (from the running hash, or
   * read from its file). The bytes are flushed every 64 MiB only, and the caller then records the
   * upload finished under this hash: the file's last bytes and its name reach the disk first, so
   * a crash after that record cannot find the file shorter, or other bytes under the hash.
   */
  async finishedSha256(id: string, size: number): Promise<string> {
    await this.settle(id);
    await this.syncToDisk(this.pathOf(id));
    await this.syncToDisk(this.directory);
    const known = this.running.get(id);
    this.running.delete(id);
    if (known && known.offset === size) return known.hash.digest('hex');
    const hash = createHash('sha256');
    for await (const data of createReadStream(this.pathOf(id), { highWaterMark: 1 << 20 })) hash.update(data as Buffer);
    return hash.digest('hex');
  }

  /** fsync of a file or a directory (its entries); a method of its own so a test can watch it. */
  protected async syncToDisk(path: string): Promise<void> {
    await syncToDisk(path);
  }

  /** Forgets the running hash of an upload another process may continue (nothing else to drop). */
  forget(id: string): void {
    this.running.delete(id);
    this.flushing.delete(id);
  }

  /** The file that holds an upload's bytes (ids are UPLOAD_ID_PATTERN's, checked before they get here). */
  pathOf(id: string): string {
    return join(this.directory, id);
  }
}
