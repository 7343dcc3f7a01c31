import type { ZipArchive } from 'archiver';
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { DigestThread, type BagDigests } from './digest-thread.js';
import { BAGIT_TXT, formatBagInfo, formatManifest, formatOxum, pathProblem, type BagAlgorithm } from './manifest.js';

/** A file written into the bag, with the digests its manifests list. */
export interface PackedFile {
  /** Path relative to the bag folder, e.g. `data/evidence/<id>/record.json`. */
  path: string;
  sizeBytes: number;
  sha256: string;
  sha512: string;
}

export interface EntryOptions {
  /** Store the bytes as they are (method 0): for media that is already compressed. */
  store?: boolean;
  /** The expected size: a large file is hashed on a second thread, beside the ZIP's own work. */
  sizeHint?: number;
}

/** From this size on a file's digests are taken on the digest thread; below, the hand-over costs more than it saves. */
const THREAD_FROM_BYTES = 4 * 1024 * 1024;

type Source = Readable | Buffer | string;

/** Passes bytes through unchanged while taking both BagIt digests (here or on the digest thread) and counting. */
class Digester extends Transform {
  private readonly hashes: [Hash, Hash] | null;
  private readonly threadFile: number | null;
  bytes = 0;

  constructor(
    private readonly onBytes: (n: number) => void,
    private readonly thread: DigestThread | null,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.threadFile = thread ? thread.start() : null;
    this.hashes = thread ? null : [createHash('sha256'), createHash('sha512')];
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    if (this.hashes) {
      for (const hash of this.hashes) hash.update(chunk);
      done(null, chunk);
    } else {
      this.thread!.update(this.threadFile!, chunk).then(() => done(null, chunk), done);
    }
  }

  digests(): Promise<BagDigests> {
    if (this.hashes) return Promise.resolve({ sha256: this.hashes[0].digest('hex'), sha512: this.hashes[1].digest('hex') });
    return this.thread!.end(this.threadFile!);
  }
}

/**
 * Streams a BagIt 1.0 bag (RFC 8493) into a ZIP: payload and tag files are hashed (SHA-256 and
 * SHA-512) on their way into the archive, and the manifests, bag-info.txt (with Payload-Oxum) and
 * the tag manifests are written last, from what passed through. Nothing is held in memory but
 * the digests; read `output` while adding, or the writer stalls on back-pressure.
 */
export class BagWriter {
  /** The ZIP's bytes. */
  readonly output: Readable;
  private readonly archive: ZipArchive;
  private readonly payload: PackedFile[] = [];
  private readonly tags: PackedFile[] = [];
  private readonly paths = new Set<string>();
  private failure: Error | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private thread: DigestThread | null = null;

  /** A writer for the bag `bagName`; archiver is loaded on the first bag, not at every start of the API. */
  static async open(bagName: string, options: { date: Date; onPayloadBytes?: (n: number) => void }): Promise<BagWriter> {
    if (pathProblem(bagName) || bagName.includes('/')) throw new Error(`BagWriter: ${JSON.stringify(bagName)} is not a folder name`);
    const { ZipArchive } = await import('archiver');
    return new BagWriter(bagName, options, new ZipArchive({ zlib: { level: 6 }, highWaterMark: 1024 * 1024 }));
  }

  private constructor(
    /** The bag's folder name inside the ZIP. */
    readonly bagName: string,
    private readonly options: { date: Date; onPayloadBytes?: (n: number) => void },
    archive: ZipArchive,
  ) {
    this.archive = archive;
    this.output = archive;
    this.archive.on('error', (error: Error) => {
      this.failure ??= error;
    });
    this.archive.on('warning', (error: Error) => {
      this.failure ??= error;
    });
  }

  /** Adds a payload file at `data/<path>`; resolves once all of it has passed into the ZIP. */
  addPayload(path: string, source: Source, options: EntryOptions = {}): Promise<PackedFile> {
    return this.add(`data/${path}`, source, options, this.payload, this.options.onPayloadBytes);
  }

  /** Adds a tag file (outside data/), listed in the tag manifests. */
  addTag(path: string, source: Source, options: EntryOptions = {}): Promise<PackedFile> {
    if (path.startsWith('data/')) return Promise.reject(new Error(`BagWriter: tag file ${path} cannot sit under data/`));
    return this.add(path, source, options, this.tags);
  }

  /**
   * The payload manifest (`algorithm`) of the files added so far, once all of them are in the
   * ZIP: what a package seals before its last files (those that depend on the seal) are added.
   */
  async payloadManifest(algorithm: BagAlgorithm): Promise<string> {
    await this.tail;
    this.throwIfFailed();
    return formatManifest(this.payload.map((f) => ({ path: f.path, digest: f[algorithm] })));
  }

  /** Payload files written so far, and their total size. */
  get payloadSummary(): { files: number; bytes: number } {
    return { files: this.payload.length, bytes: this.payload.reduce((sum, f) => sum + f.sizeBytes, 0) };
  }

  /**
   * Writes bagit.txt, bag-info.txt (the given fields with Payload-Oxum after `oxumAfter`), the
   * payload manifests and the tag manifests, and ends the ZIP.
   */
  async finish(bagInfo: readonly (readonly [string, string])[], oxumAfter = 'Bagging-Date'): Promise<{ payloadFiles: number; payloadBytes: number }> {
    await this.tail;
    const { files, bytes } = this.payloadSummary;
    const fields = [...bagInfo];
    const at = fields.findIndex(([label]) => label === oxumAfter);
    fields.splice(at < 0 ? fields.length : at + 1, 0, ['Payload-Oxum', formatOxum(bytes, files)]);
    await this.addTag('bagit.txt', BAGIT_TXT);
    await this.addTag('bag-info.txt', formatBagInfo(fields));
    for (const algorithm of ['sha256', 'sha512'] as BagAlgorithm[]) {
      await this.addTag(`manifest-${algorithm}.txt`, formatManifest(this.payload.map((f) => ({ path: f.path, digest: f[algorithm] }))));
    }
    // Tag manifests list every tag file, never each other.
    const listed = [...this.tags];
    for (const algorithm of ['sha256', 'sha512'] as BagAlgorithm[]) {
      await this.add(`tagmanifest-${algorithm}.txt`, formatManifest(listed.map((f) => ({ path: f.path, digest: f[algorithm] }))), {}, []);
    }
    this.throwIfFailed();
    await this.archive.finalize();
    this.throwIfFailed();
    await this.thread?.close();
    return { payloadFiles: files, payloadBytes: bytes };
  }

  /** Stops the ZIP: `output` ends with an error and no further entry is written. */
  abort(error: Error): void {
    this.failure ??= error;
    this.archive.abort();
    this.output.destroy(error);
    void this.thread?.close();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private add(path: string, source: Source, options: EntryOptions, list: PackedFile[], onBytes: (n: number) => void = () => undefined): Promise<PackedFile> {
    const problem = pathProblem(path);
    if (problem) return Promise.reject(new Error(`BagWriter: ${JSON.stringify(path)} is ${problem}`));
    if (this.paths.has(path)) return Promise.reject(new Error(`BagWriter: ${path} is already in the bag`));
    this.paths.add(path);
    // One entry at a time, in the order added: the ZIP is written strictly in sequence anyway,
    // and a source is opened only when its turn comes.
    const done = this.tail.then(() => this.write(path, source, options, onBytes));
    this.tail = done.catch(() => undefined);
    return done.then((packed) => {
      list.push(packed);
      return packed;
    });
  }

  private write(path: string, source: Source, options: EntryOptions, onBytes: (n: number) => void): Promise<PackedFile> {
    this.throwIfFailed();
    const threaded = (options.sizeHint ?? 0) >= THREAD_FROM_BYTES;
    if (threaded) this.thread ??= new DigestThread();
    const digester = new Digester(onBytes, threaded ? this.thread : null);
    const input = typeof source === 'string' || Buffer.isBuffer(source) ? new PassThrough().end(source) : source;
    return new Promise<PackedFile>((resolve, reject) => {
      const fail = (error: Error) => {
        this.failure ??= error;
        reject(error);
      };
      input.once('error', fail);
      digester.once('error', fail);
      this.archive.once('error', fail);
      digester.once('end', () => {
        this.archive.off('error', fail);
        if (this.failure) return reject(this.failure);
        digester.digests().then((digests) => resolve({ path, sizeBytes: digester.bytes, ...digests }), fail);
      });
      this.archive.append(input.pipe(digester), { name: `${this.bagName}/${path}`, date: this.options.date, store: options.store ?? false, mode: 0o644 });
    });
  }
}
