import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { ERRORS, EVENTS, Server, type KvStore, type Upload } from '@tus/server';
import { DataSource, type EntityManager } from 'typeorm';
import { preparedQuery } from '#custodia/db';
import { PerUserLimit, type Actor } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { conflict, notFound, unprocessable } from '#custodia/errors';
import { leftoverUploadFiles, UPLOAD_ID } from './leftover-files.js';
import { PostgresLocker } from './pg-locker.js';
import { CURRENT_CHUNK, TusRefusal, UploadStore, type ChunkCheck } from './upload-store.js';

/** Where the API mounts tus (the global prefix included). */
export const UPLOADS_PATH = '/api/v1/uploads';

/** A device's SHA-256, checked once lowercased: either case is taken (Swift's and Java's formatters differ), as multipart does. */
const SHA256_HEX = /^[0-9a-f]{64}$/;
// A media type as RFC 6838 names them, without parameters.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * The `Upload-Metadata` keys the archive reads. Any other is ignored, as tus servers do: clients
 * send their own (Uppy sends `name`, `type` and `relativePath` beside `filename` and `filetype`).
 */
const READ_KEYS = ['filename', 'filetype', 'sha256'];
/** Keys declaring a digest other than the one checked: refused, so that nobody takes it as checked. */
const OTHER_DIGEST = /^(md5|sha-?\d+|sha3\S*|blake\S*|crc\S*|xxh\S*|checksum|hash|digest)$/i;
const OFFSET = /^(0|[1-9][0-9]{0,15})$/;
// How long a request holding an upload gets to let go of it when another asks for it (a client
// that resumes after its connection broke, while this end has not noticed yet), as @tus/server.
const LOCK_DRAIN_MS = 3000;

/** A tus `PATCH` done: the headers of its 204. */
export interface Appended {
  offset: number;
  /** When the unfinished upload is removed (none once finished). */
  expires: Date | null;
  /** The body ended early (the client went away, or another request took the upload over). */
  interrupted: boolean;
}

/** A finished upload handed to evidence intake (see claim). */
export interface ClaimedUpload {
  id: string;
  /** The file holding the bytes, on the blob store's filesystem. */
  path: string;
  sizeBytes: number;
  /** SHA-256 we computed from the bytes as they arrived (or read back). */
  sha256: string;
  /** The device's hash from `Upload-Metadata`, if it sent one. */
  declaredSha256: string | null;
  fileName: string | null;
  mediaType: string | null;
}

/** An upload that already became evidence: its item, and the SHA-256 of its bytes. */
export interface UsedUpload {
  id: string;
  evidenceId: string;
  sha256: string;
}

interface UploadRow {
  id: string;
  owner_id: string;
  size_bytes: string;
  file_name: string | null;
  media_type: string | null;
  declared_sha256: string | null;
  finished_at: Date | null;
  computed_sha256: string | null;
  evidence_id: string | null;
  info: Upload | null;
}

/** The tus server's record of each upload, kept in the uploads table every instance shares. */
class UploadRecords implements KvStore<Upload> {
  constructor(
    private readonly db: DataSource,
    private readonly ttlMs: number,
  ) {}

  /**
   * The upload's tus record. Its `creation_date` is set so that the tus server's own expiry check
   * (HEAD answers 410 once creation_date + the TTL has passed) follows the record's `expires_at`:
   * none for a finished upload, which never expires (kept until it becomes evidence or is
   * terminated), so a phone that comes back days after its last byte resumes rather than sends
   * the whole file again.
   */
  async get(id: string): Promise<Upload | undefined> {
    const [row]: { info: Upload; expires_ms: number | null }[] = await this.db.query(
      `SELECT info, CASE WHEN expires_at = 'infinity' THEN NULL ELSE extract(epoch FROM expires_at) * 1000 END AS expires_ms FROM uploads WHERE id = $1 AND evidence_id IS NULL`,
      [id],
    );
    if (!row?.info) return undefined; // registered, its tus record not yet written
    const { creation_date: _, metadata, ...stored } = row.info as Upload & { metadata?: Upload['metadata'] | [string, string | null][] };
    // The metadata as the client gave it, in its order (kept as pairs: jsonb reorders an object's keys).
    const info = { ...stored, metadata: Array.isArray(metadata) ? Object.fromEntries(metadata) : metadata };
    return row.expires_ms === null ? (info as Upload) : ({ ...info, creation_date: new Date(Number(row.expires_ms) - this.ttlMs).toISOString() } as Upload);
  }

  async set(id: string, value: Upload): Promise<void> {
    const info = { ...value, metadata: value.metadata ? Object.entries(value.metadata) : value.metadata };
    await this.db.query(`UPDATE uploads SET info = $2 WHERE id = $1`, [id, JSON.stringify(info)]);
  }

  /**
   * Removes an upload's record; 404 when there is none to remove. An upload being made evidence
   * has its row locked by that item's transaction (`markUsed`): this waits for it, and finds the
   * upload evidence then, not an upload any more.
   */
  async delete(id: string): Promise<void> {
    const [deleted]: [unknown[], number] = await this.db.query(`DELETE FROM uploads WHERE id = $1 AND evidence_id IS NULL RETURNING id`, [id]);
    if (deleted.length === 0) throw new TusRefusal(404, 'No such upload\n');
  }

  async list(): Promise<string[]> {
    return (await this.db.query(`SELECT id FROM uploads WHERE evidence_id IS NULL`)).map((row: { id: string }) => row.id);
  }
}

/** The answer to making evidence of an upload its creator terminated (tus DELETE) meanwhile. */
export const terminated = () => conflict('The upload was terminated (DELETE) before it became evidence; nothing was stored');

/** The signed-in caller, set on the Node request by the API's access guard. */
function actorOf(req: { runtime?: { node?: { req?: unknown } } }): Actor {
  const actor = (req.runtime?.node?.req as { actor?: Actor } | undefined)?.actor;
  if (!actor) throw new TusRefusal(401, 'Sign in first');
  return actor;
}

/**
 * Resumable uploads: tus 1.0.0 (creation, creation-with-upload, termination, expiration,
 * checksum with sha256) over files beside the blob store, their records in PostgreSQL, locks
 * across instances. An upload belongs to its creator (anyone else gets 404), counts against the
 * creator's limits until it becomes evidence, and expires when left unfinished for
 * CUSTODIA_UPLOAD_TTL_S (a finished one is kept until it becomes evidence or is terminated).
 */
@Injectable()
export class UploadsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Uploads');
  readonly directory: string;
  readonly store: UploadStore;
  private readonly locker: PostgresLocker;
  /** Per user, their tus PATCH requests receiving bytes in this process (each holds a connection of the lock pool). */
  readonly writing: PerUserLimit;
  private readonly tus: Server;
  private sweeper: NodeJS.Timeout | undefined;
  /** The upload a creation request made, until its answer is known (see handle). */
  private readonly createdBy = new WeakMap<Request, string>();

  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {
    this.directory = path.join(config.dataDir, 'uploads');
    this.writing = new PerUserLimit(config.uploadMaxWriting);
    this.store = new UploadStore({
      directory: this.directory,
      configstore: new UploadRecords(db, config.uploadTtlSeconds * 1000),
      expirationPeriodInMilliseconds: config.uploadTtlSeconds * 1000,
    });
    this.locker = new PostgresLocker((db.options as { url: string }).url);
    this.tus = new Server({
      path: UPLOADS_PATH,
      datastore: this.store,
      locker: this.locker,
      relativeLocation: true,
      // No cross-origin access: the console is served from the API's own origin.
      allowedOrigins: [],
      maxSize: config.maxUploadBytes,
      namingFunction: () => randomUUID(),
      onIncomingRequest: (req, id) => this.assertOwnUpload(req, id),
      onUploadCreate: async (req, upload) => {
        await this.register(actorOf(req), upload, req.headers.get('upload-metadata'));
        return {};
      },
      onUploadFinish: async (_req, upload) => {
        await this.finish(upload.id, upload.size!);
        return {};
      },
      onResponseError: (req, error) => {
        // Upload-Length over the limit at creation: the limit in the answer (handle adds Tus-Max-Size).
        if (error === ERRORS.ERR_MAX_SIZE_EXCEEDED) {
          return {
            status_code: 413,
            body: `Upload-Length is ${req.headers.get('upload-length')} bytes, over the largest upload this archive takes: ${config.maxUploadBytes} bytes (Tus-Max-Size)\n`,
          };
        }
        if ('status_code' in error && typeof error.status_code === 'number') return { status_code: error.status_code, body: error.body };
        this.logger.error(`upload failed: ${error instanceof Error ? error.message : String(error)}`);
        return { status_code: 500, body: 'The upload failed on the server; try again\n' };
      },
    });
    this.tus.on(EVENTS.POST_TERMINATE, (_req, _res, id) => this.store.forget(id));
    this.tus.on(EVENTS.POST_CREATE, (req, upload) => this.createdBy.set(req, upload.id));
  }

  /**
   * Serves one tus request; `checksum` is its parsed `Upload-Checksum`, checked by the store. A
   * creation refused for its Upload-Length (413) names the limit in Tus-Max-Size, as OPTIONS
   * does: the tus server sends it with neither.
   */
  async handle(request: Request, checksum: ChunkCheck | null): Promise<Response> {
    const response = await CURRENT_CHUNK.run(checksum, () => this.tus.handleWeb(request));
    const created = this.createdBy.get(request);
    if (created && !response.ok) {
      // A creation refused after its upload was made (its first bytes more than its Upload-Length
      // or not matching their checksum, a failed write) is answered without the upload's address:
      // its client can neither resume nor end it, so it goes now rather than hold a place among
      // its owner's open uploads for a day. (A body merely cut off is no refusal: kept, answered 201.)
      await this.store.remove(created).catch((error: unknown) => this.logger.warn(`a refused creation's upload stays until its expiry: ${String(error)}`));
    }
    // tus 1.0.0: a 412 (no Tus-Resumable) names the version the server speaks.
    if (response.status === 412) response.headers.set('Tus-Version', '1.0.0');
    if (response.status === 413 && request.method === 'POST' && Number(request.headers.get('upload-length')) > this.config.maxUploadBytes) {
      response.headers.set('Tus-Max-Size', String(this.config.maxUploadBytes));
    }
    return response;
  }

  /**
   * tus `PATCH` (core, checksum and expiration extensions), served here rather than by the tus
   * server so the request's body streams straight into the store (the tus server reads it
   * through a web stream, about half as fast). Same rules: the upload's creator only (404),
   * `Content-Type: application/offset+octet-stream` (415), `Upload-Offset` equal to the bytes
   * received (409), no more than the upload's length (413), an `Upload-Checksum` that matches
   * (460, nothing kept), not expired (410); one request per upload at a time across instances.
   * Refusals are TusRefusal.
   */
  async append(actor: Actor, id: string, body: IncomingMessage, check: ChunkCheck | null): Promise<Appended> {
    const headers = body.headers;
    if (headers['tus-resumable'] !== '1.0.0') throw new TusRefusal(412, 'Tus-Resumable: 1.0.0 is required (the only version this server speaks)\n');
    // Media types compare without case and parameters (RFC 9110 §8.3.1).
    if (headers['content-type']?.split(';')[0]!.trim().toLowerCase() !== 'application/offset+octet-stream') {
      throw new TusRefusal(415, 'Content-Type must be application/offset+octet-stream\n');
    }
    const offsetHeader = headers['upload-offset'];
    if (typeof offsetHeader !== 'string' || !OFFSET.test(offsetHeader)) throw new TusRefusal(400, 'Upload-Offset must be the number of bytes received so far\n');
    if (headers['upload-length'] !== undefined) throw new TusRefusal(400, 'Upload-Length is given at creation, not with the bytes\n');
    const offset = Number(offsetHeader);
    const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
    // Whose upload it is comes first: nobody else may take its lock (and so cut its transfer).
    const rows: { owner_id: string; size_bytes: string; expires_at: Date; expired: boolean }[] = UPLOAD_ID.test(id)
      ? await preparedQuery<{ owner_id: string; size_bytes: string; expires_at: Date; expired: boolean }>(
          this.db,
          'custodia_open_upload',
          `SELECT owner_id, size_bytes, expires_at, expires_at < now() AS expired FROM uploads WHERE id = $1 AND evidence_id IS NULL`,
          [id],
        )
      : [];
    const row = rows[0];
    if (!row || row.owner_id !== actor.id) throw new TusRefusal(404, 'No such upload\n');
    if (row.expired) throw new TusRefusal(410, 'The upload expired and is being removed\n');
    const release = this.writing.take(
      actor.id,
      () => new TusRefusal(423, `You are sending ${this.writing.max} uploads at once, the most one account may send here at a time (CUSTODIA_UPLOAD_MAX_WRITING): send this one when one of them ends\n`),
    );
    try {
      return await this.receive(id, offset, length, body, check, Number(row.size_bytes), row.expires_at);
    } finally {
      release();
    }
  }

  private async receive(id: string, offset: number, length: number | null, body: IncomingMessage, check: ChunkCheck | null, size: number, expiresAt: Date): Promise<Appended> {
    // Another request asking for this upload (HEAD or PATCH of a client that came back) gets
    // it after LOCK_DRAIN_MS: this one then keeps what it received and answers.
    const letGo = new AbortController();
    let draining: NodeJS.Timeout | undefined;
    const gone = new AbortController();
    const leave = () => gone.abort();
    body.once('close', leave);
    const lock = this.locker.newLock(id);
    let appended: { offset: number; interrupted: boolean };
    try {
      await lock.lock(gone.signal, () => {
        draining ??= setTimeout(() => letGo.abort(), LOCK_DRAIN_MS);
      });
      try {
        // The lock's database session broke (PostgreSQL restarted, the session terminated):
        // another instance may take the upload at once, so this request stops receiving now and
        // answers with what reached the file, rather than after the drain.
        const stop = AbortSignal.any([letGo.signal, lock.lost]);
        appended = await this.store.receive(body, id, offset, { check, limit: size - offset, length, stop });
      } finally {
        // The answer does not wait for the release: another request for this upload waits for
        // it here (the in-process lock goes last), and another instance tries again within ms.
        lock.unlock().catch((error: Error) => this.logger.warn(`releasing the lock of an upload failed: ${error.message}`));
      }
    } finally {
      clearTimeout(draining);
      body.off('close', leave);
    }
    if (appended.offset === size) {
      await this.finish(id, size);
      return { ...appended, expires: null };
    }
    return { ...appended, expires: expiresAt };
  }

  /** Refuses (404) a request about an upload that does not exist, is someone else's, or became evidence. */
  private async assertOwnUpload(req: Parameters<NonNullable<ConstructorParameters<typeof Server>[0]['onIncomingRequest']>>[0], id: string): Promise<void> {
    if (req.method === 'POST') return;
    const actor = actorOf(req);
    if (!UPLOAD_ID.test(id)) throw new TusRefusal(404, 'No such upload\n');
    const [row] = await this.db.query(`SELECT owner_id FROM uploads WHERE id = $1 AND evidence_id IS NULL`, [id]);
    if (!row || row.owner_id !== actor.id) throw new TusRefusal(404, 'No such upload\n');
  }

  /** Checks the metadata and the creator's limits, and records the upload as theirs. */
  private async register(actor: Actor, upload: Upload, header: string | null): Promise<void> {
    const metadata = upload.metadata ?? {};
    const problems: string[] = [];
    for (const key of Object.keys(metadata)) {
      if (!READ_KEYS.includes(key) && OTHER_DIGEST.test(key)) problems.push(`${key}: the only digest checked is sha256 (64 hex digits); declare that one, or none`);
    }
    // @tus/server decodes values leniently (U+FFFD for bytes that are not UTF-8): the header's own bytes are checked.
    for (const pair of header?.split(',') ?? []) {
      const [key, value] = pair.split(' ');
      if (READ_KEYS.includes(key!) && value && !isUtf8(Buffer.from(value, 'base64'))) problems.push(`${key} is not valid UTF-8`);
    }
    const fileName = metadata['filename'] ?? null;
    const mediaType = metadata['filetype'] ?? null;
    const sha256 = metadata['sha256']?.toLowerCase() ?? null;
    if (fileName !== null && (fileName.length > 255 || CONTROL.test(fileName) || !fileName.trim())) problems.push('filename must be 1 to 255 characters without control characters');
    if (mediaType !== null && !MEDIA_TYPE.test(mediaType)) problems.push('filetype must be a media type such as image/jpeg');
    if (sha256 !== null && !SHA256_HEX.test(sha256)) problems.push('sha256 must be 64 hex digits');
    if (problems.length) throw new TusRefusal(400, `Upload-Metadata: ${problems.join('; ')}\n`);
    if (upload.size === 0) throw new TusRefusal(422, 'The file is empty (0 bytes): there is nothing to keep\n');
    const size = upload.size!;
    await this.db.transaction(async (tx) => {
      // One creation per user at a time, so two cannot both slip under the limits.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`uploads:${actor.id}`]);
      const [open] = await tx.query(
        `SELECT count(*)::int AS count, COALESCE(sum(size_bytes), 0)::bigint AS bytes FROM uploads WHERE owner_id = $1 AND evidence_id IS NULL`,
        [actor.id],
      );
      if (open.count >= this.config.uploadMaxOpen) {
        throw new TusRefusal(429, `You hold ${open.count} uploads not yet made evidence, the most allowed (CUSTODIA_UPLOAD_MAX_OPEN): make evidence of or cancel some first\n`);
      }
      if (Number(open.bytes) + size > this.config.uploadMaxOpenBytes) {
        throw new TusRefusal(429, `Your uploads not yet made evidence would hold more than ${this.config.uploadMaxOpenBytes} bytes (CUSTODIA_UPLOAD_MAX_OPEN_BYTES): make evidence of or cancel some first\n`);
      }
      await tx.query(
        `INSERT INTO uploads (id, owner_id, size_bytes, file_name, media_type, declared_sha256, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
        [upload.id, actor.id, size, fileName, mediaType, sha256, this.config.uploadTtlSeconds],
      );
    });
  }

  /**
   * The last byte arrived: its SHA-256 (ours, never the client's), and it no longer expires
   * (api.md: uploads expire unless finished). A documenter whose phone died between the last byte
   * and the submission still has it days later; it counts against their limits until it becomes
   * evidence or they terminate it.
   */
  private async finish(id: string, size: number): Promise<void> {
    const sha256 = await this.store.finishedSha256(id, size).catch((error: unknown) => {
      // Terminated (DELETE) by a request that took the lock as this one let go of it.
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') throw new TusRefusal(404, 'No such upload: it was terminated as its last bytes arrived\n');
      throw error;
    });
    const [recorded]: [unknown[], number] = await this.db.query(
      `UPDATE uploads SET finished_at = now(), computed_sha256 = $2, expires_at = 'infinity' WHERE id = $1 RETURNING 1`,
      [id, sha256],
    );
    // Swept at its expiry between the last byte and this record: never answer it complete.
    if (recorded.length === 0) throw new TusRefusal(410, 'The upload expired and was removed as its last byte arrived\n');
  }

  /** Records as finished an upload whose every byte arrived, under its lock (409 while a request writes it). */
  private async finishLeftOver(id: string, size: number): Promise<void> {
    const lock = this.locker.newLock(id);
    try {
      await lock.lock(AbortSignal.timeout(LOCK_DRAIN_MS + 2000), () => undefined);
    } catch {
      throw conflict('The upload is being written to right now; try again when its last request has ended');
    }
    try {
      const [still] = await this.db.query(`SELECT 1 FROM uploads WHERE id = $1 AND finished_at IS NULL AND evidence_id IS NULL`, [id]);
      if (still) await this.finish(id, size);
    } catch (error) {
      if (error instanceof TusRefusal) throw conflict(error.body.trim());
      throw error;
    } finally {
      await lock.unlock();
    }
  }

  /**
   * A finished upload of `actor`, for evidence intake: 404 when it is not theirs or does not
   * exist, 409 when unfinished, 422 when its bytes differ from the hash the device declared at
   * its creation; the item it became, if it already did (intake decides whether that answers a
   * repeat). Intake then ties it to the new item with `markUsed`, in the item's own transaction.
   */
  async finished(actor: Actor, uploadId: string): Promise<ClaimedUpload | UsedUpload> {
    const rows: UploadRow[] = UPLOAD_ID.test(uploadId) ? await this.db.query(`SELECT * FROM uploads WHERE id = $1`, [uploadId]) : [];
    const row = rows[0];
    if (!row || row.owner_id !== actor.id) throw notFound('The upload');
    if (row.evidence_id) return { id: row.id, evidenceId: row.evidence_id, sha256: row.computed_sha256! };
    if (!row.finished_at || !row.computed_sha256) {
      const offset = await stat(this.store.pathOf(row.id)).then((s) => s.size, () => 0);
      if (offset !== Number(row.size_bytes)) throw conflict(`The upload is not finished: ${offset} of ${row.size_bytes} bytes arrived; send the rest first`);
      // Every byte is there, but the request that brought the last one did not record it (its
      // process died, or the database failed it): the client saw the whole length in HEAD and
      // sends no more, so it is recorded now.
      await this.finishLeftOver(row.id, offset);
      return this.finished(actor, uploadId);
    }
    if (row.declared_sha256 && row.declared_sha256 !== row.computed_sha256) {
      throw unprocessable('The bytes received differ from what the device hashed; nothing was stored', [
        { field: 'uploadId', message: `the upload's bytes hash to ${row.computed_sha256}, not to the sha256 given at its creation` },
      ]);
    }
    return {
      id: row.id,
      path: this.store.pathOf(row.id),
      sizeBytes: Number(row.size_bytes),
      sha256: row.computed_sha256,
      declaredSha256: row.declared_sha256,
      fileName: row.file_name,
      mediaType: row.media_type,
    };
  }

  /**
   * Ties a finished upload to the evidence item made of it, in that item's transaction: an
   * upload becomes evidence once (409 when another request got there first).
   */
  async markUsed(tx: EntityManager, actor: Actor, uploadId: string, evidenceId: string): Promise<void> {
    const [, count] = await tx.query(
      `UPDATE uploads SET evidence_id = $3, info = NULL
        WHERE id = $1 AND owner_id = $2 AND evidence_id IS NULL AND finished_at IS NOT NULL`,
      [uploadId, actor.id, evidenceId],
    );
    if (count === 1) return;
    throw (await this.gone(uploadId, tx)) ? terminated() : conflict('This upload already became evidence');
  }

  /** Whether the upload no longer exists (terminated); one that became evidence still does. */
  async gone(uploadId: string, db: DataSource | EntityManager = this.db): Promise<boolean> {
    const rows: unknown[] = await db.query(`SELECT 1 FROM uploads WHERE id = $1`, [uploadId]);
    return rows.length === 0;
  }

  /** Removes an upload's file once its bytes are a blob of their own (or were refused for good). */
  async removeBytes(uploadId: string): Promise<void> {
    this.store.forget(uploadId);
    await rm(this.store.pathOf(uploadId), { force: true });
  }

  /** Removes an upload nobody needs any more (a repeat of an earlier submission): file and record. */
  async discard(uploadId: string): Promise<void> {
    await this.store.remove(uploadId).catch(() => undefined);
  }

  /**
   * Removes uploads past their expiry, files no record names (a crash between a file's creation
   * and its record) and files of uploads that became evidence (a crash before their removal),
   * safely beside other instances doing the same. Returns how many.
   */
  async sweepExpired(): Promise<number> {
    const expired: { id: string }[] = await this.db.query(`SELECT id FROM uploads WHERE evidence_id IS NULL AND expires_at < now() ORDER BY expires_at LIMIT 1000`);
    let removed = 0;
    for (const { id } of expired) {
      const lock = this.locker.newLock(id);
      try {
        await lock.lock(AbortSignal.timeout(5000), () => undefined);
      } catch {
        continue; // in use right now: the next sweep takes it
      }
      try {
        // The record first, the file only if it went: a PATCH that received the last byte just
        // before (it lets go of the lock before recording it) moves the expiry on, so the upload
        // it finished stays whole. A crash in between leaves a file no record names (below).
        const [deleted]: [unknown[], number] = await this.db.query(
          `DELETE FROM uploads WHERE id = $1 AND evidence_id IS NULL AND expires_at < now() RETURNING id`,
          [id],
        );
        if (deleted.length === 0) continue;
        await rm(this.store.pathOf(id), { force: true });
        this.store.forget(id);
        removed++;
      } finally {
        await lock.unlock();
      }
    }
    // Files no upload will finish: one whose upload became evidence has its bytes in the blob
    // store since that commit (the process died before removing it: a second copy, with S3).
    for (const { file } of (await leftoverUploadFiles(this.db, this.directory, this.config.uploadTtlSeconds)).leftovers) {
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  async onApplicationBootstrap(): Promise<void> {
    const every = Math.min(600_000, Math.max(1000, (this.config.uploadTtlSeconds * 1000) / 10));
    const sweep = () =>
      this.sweepExpired().then(
        (removed) => removed && this.logger.log(`removed ${removed} expired uploads`),
        (error: Error) => this.logger.warn(`sweeping expired uploads failed: ${error.message}`),
      );
    // Once at start too, in the background: a process killed just after an upload became
    // evidence leaves its file (a second copy, with S3), which waited up to ten minutes otherwise.
    this.startSweep = sweep();
    this.sweeper = setInterval(() => void sweep(), every);
    this.sweeper.unref();
  }

  /** The sweep run at start (tests wait for it). */
  startSweep: Promise<unknown> = Promise.resolve();

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.startSweep;
    await this.locker.close();
  }
}
