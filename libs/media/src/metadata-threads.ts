// A file's type and embedded metadata are read at intake, on files anyone with a submitting role
// sends. The readers (file-type's sniffer, exifr and our own walkers of JPEG, PNG, ISO BMFF,
// Matroska and PDF structures) are JavaScript: on the API's event loop, a file that drives one of
// them into a slow path no audit found stalls every request of the instance (file-type itself
// once looped forever on a malformed Matroska file, CVE-2022-36313). Here they run in worker
// threads, one file at a time each, with a time limit (the thread is terminated, even inside a
// loop) and a heap cap; a stopped reading is a reading with nothing in it and a note saying why,
// and the next file gets a fresh thread.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readImageHeader, type ImageHeader } from './image-header.js';
import type { ExtractedMetadata } from './metadata.js';
import { UNKNOWN_MEDIA_TYPE } from './sniff.js';

/** What the parent asks of a thread: a file's type and reading, or (with `carriedSha256`) the file with that SHA-256 a message carries. */
export interface ThreadTask {
  id: number;
  filePath: string;
  carriedSha256?: string;
}

/**
 * A thread's answers: first the sniffed media type (kept if the metadata reading is then stopped),
 * then the reading, or the error a reader threw (a missing file, a bad path).
 */
export type ThreadAnswer = { id: number; mediaType: string } | FinalAnswer;
type FinalAnswer =
  | { id: number; ok: true; value: ExtractedMetadata | null }
  | { id: number; ok: true; carried: Uint8Array | null }
  | { id: number; ok: false; name: string; message: string };

/** What a thread read of one file: its media type from its bytes (sniffMediaType) and its embedded metadata. */
export interface FileReading {
  mediaType: string;
  metadata: ExtractedMetadata | null;
}

/** A thread asks for an image header (libvips runs in the parent, see metadata-thread.ts), and gets it. */
export interface HeaderQuestion {
  header: number;
  filePath: string;
}
export interface HeaderAnswer {
  header: number;
  value: ImageHeader | null;
}

export interface MetadataThreadOptions {
  /** Threads at most (default: one per CPU). */
  size?: number;
  /** Time one file may take, from the moment a thread starts on it (default 30 s). */
  timeLimitMs?: number;
  /** Heap cap of each thread, MiB (default 512). */
  heapMb?: number;
  /** The thread's module (tests give one that stalls); default metadata-thread. */
  module?: URL;
  /** Told each time a reading is stopped, and why (the archive logs it: a file built to stall readers?). */
  onStopped?: (reason: string) => void;
}

/** 30 s, as ExifTool gets per file: a 12 MP photo reads in milliseconds, a long video's index in well under a second. */
export const METADATA_TIME_LIMIT_MS = 30_000;

// Run from the TypeScript sources (Vitest, or test/support's loader for child processes), a
// thread needs a loader to read them (test/support/ts-thread-loader.mjs, which loads no native
// code); the built archive runs the compiled module.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const THREAD_MODULE = new URL(FROM_SOURCES ? './metadata-thread.ts' : './metadata-thread.js', import.meta.url);
const EXEC_ARGV = FROM_SOURCES ? ['--import', fileURLToPath(new URL('../../../test/support/ts-thread-loader.mjs', import.meta.url))] : [];

interface Pending {
  task: ThreadTask;
  /** The thread's last answer, with the media type it sniffed first (a reading's). */
  answer: (message: FinalAnswer, mediaType: string | null) => void;
  /** The thread was stopped (time, memory, exit, shutdown), and why. */
  stop: (reason: string, mediaType: string | null) => void;
  reject: (error: Error) => void;
}

/** Taking a file out of a message was stopped (its time limit, its memory cap, shutdown). */
export class CarriedFileStoppedError extends Error {
  constructor(readonly reason: string) {
    super(`Taking the file out of the message was stopped: ${reason}`);
    this.name = 'CarriedFileStoppedError';
  }
}

interface Thread {
  worker: Worker;
  ready: boolean;
  /** The file it reads now, its media type once sniffed, and the timer that stops it. */
  current: { pending: Pending; timer: NodeJS.Timeout; mediaType: string | null } | null;
}

/** A pool of metadata threads; `read` is `sniffMediaType` and `extractEmbeddedMetadata` off the event loop, bounded. */
export class MetadataThreads {
  private readonly size: number;
  private readonly timeLimitMs: number;
  private readonly heapMb: number;
  private readonly module: URL;
  private readonly onStopped: (reason: string) => void;
  private readonly threads = new Set<Thread>();
  private readonly queue: Pending[] = [];
  private nextId = 0;

  constructor(options: MetadataThreadOptions = {}) {
    this.size = options.size ?? Math.max(1, os.availableParallelism());
    this.timeLimitMs = options.timeLimitMs ?? METADATA_TIME_LIMIT_MS;
    this.heapMb = options.heapMb ?? 512;
    this.module = options.module ?? THREAD_MODULE;
    this.onStopped = options.onStopped ?? (() => undefined);
  }

  /**
   * The file's media type, as sniffMediaType reads it, and its embedded metadata, as
   * extractEmbeddedMetadata reads it; or, when stopped, a note saying why and the type if it was
   * sniffed by then (application/octet-stream otherwise, with a note of its own).
   */
  read(filePath: string): Promise<FileReading> {
    return new Promise((resolve, reject) => {
      this.enqueue({
        task: { id: this.nextId++, filePath },
        answer: (message, mediaType) => (message.ok ? resolve({ mediaType: mediaType ?? UNKNOWN_MEDIA_TYPE, metadata: 'value' in message ? message.value : null }) : reject(errorOf(message))),
        stop: (reason, mediaType) => resolve(stopped(reason, mediaType)),
        reject,
      });
    });
  }

  /**
   * The bytes of the file with this SHA-256 that the e-mail or Outlook message at `filePath`
   * carries (messageAttachmentBytes), null when it carries none such; parsed in a thread under
   * the same limits as a reading, since a message is parsed whole. Throws CarriedFileStoppedError
   * when stopped.
   */
  carried(filePath: string, sha256: string): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      this.enqueue({
        task: { id: this.nextId++, filePath, carriedSha256: sha256 },
        answer: (message) => {
          if (!message.ok) return reject(errorOf(message));
          const bytes = 'carried' in message ? message.carried : null;
          resolve(bytes && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        },
        stop: (reason) => reject(new CarriedFileStoppedError(reason)),
        reject,
      });
    });
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    this.pump();
  }

  /** Ends every thread; files waiting or being read are answered as stopped. A later read starts new ones. */
  async close(): Promise<void> {
    // The queue first: retiring a thread would otherwise start another for what waits.
    const waiting = this.queue.splice(0);
    const threads = [...this.threads];
    for (const thread of threads) this.retire(thread, 'the archive is shutting down');
    for (const pending of waiting) pending.stop('the archive is shutting down', null);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const idle = [...this.threads].find((thread) => thread.ready && thread.current === null);
      if (idle) {
        this.start(idle, this.queue.shift()!);
        continue;
      }
      // Threads still starting take the queue when ready.
      const starting = [...this.threads].filter((thread) => !thread.ready).length;
      if (this.threads.size >= this.size || starting >= this.queue.length) return;
      this.spawn();
    }
  }

  private spawn(): void {
    const worker = new Worker(this.module, {
      execArgv: EXEC_ARGV,
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: true,
      stderr: true,
    });
    // An idle thread does not keep a process (the CLI, a test) alive; nor does its chatter pile up.
    worker.unref();
    worker.stdout.resume();
    worker.stderr.resume();
    const thread: Thread = { worker, ready: false, current: null };
    this.threads.add(thread);
    worker.on('message', (message: 'ready' | ThreadAnswer | HeaderQuestion) => {
      if (message === 'ready') {
        thread.ready = true;
        this.pump();
        return;
      }
      if ('header' in message) {
        void readImageHeader(message.filePath).then((value) => {
          if (this.threads.has(thread)) worker.postMessage({ header: message.header, value } satisfies HeaderAnswer);
        });
        return;
      }
      const current = thread.current;
      if (!current || current.pending.task.id !== message.id) return;
      if ('mediaType' in message) {
        current.mediaType = message.mediaType;
        return;
      }
      clearTimeout(current.timer);
      thread.current = null;
      current.pending.answer(message, current.mediaType);
      this.pump();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      this.retire(thread, error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `the reader ran out of memory (${this.heapMb} MiB)` : `the reader failed (${error.message})`);
    });
    worker.on('exit', () => this.retire(thread, 'the reader exited'));
  }

  private start(thread: Thread, pending: Pending): void {
    const timer = setTimeout(() => {
      this.retire(thread, `reading took longer than ${this.timeLimitMs / 1000} s and was stopped`);
      void thread.worker.terminate();
    }, this.timeLimitMs);
    thread.current = { pending, timer, mediaType: null };
    thread.worker.postMessage(pending.task);
  }

  /** Takes a thread out of the pool; the file it was reading is answered as stopped, for this reason. */
  private retire(thread: Thread, reason: string): void {
    if (!this.threads.delete(thread)) return;
    const current = thread.current;
    thread.current = null;
    if (current) {
      clearTimeout(current.timer);
      current.pending.stop(reason, current.mediaType);
      this.onStopped(reason);
    }
    // A thread that died while starting (a broken install) must not leave files waiting forever.
    if (!thread.ready && this.threads.size === 0) {
      for (const pending of this.queue.splice(0)) pending.reject(new Error(`The metadata reader could not start: ${reason}`));
    }
    this.pump();
  }
}

function errorOf(message: { name: string; message: string }): Error {
  return Object.assign(new Error(message.message), { name: message.name });
}

/** A reading that was stopped: nothing taken from the file, and why; the type if it was sniffed before. */
function stopped(reason: string, mediaType: string | null): FileReading {
  return {
    mediaType: mediaType ?? UNKNOWN_MEDIA_TYPE,
    metadata: {
      capturedAt: null,
      capturedAtOffset: null,
      location: null,
      device: null,
      orientation: null,
      width: null,
      height: null,
      durationS: null,
      notes: [
        ...(mediaType === null ? [`Media type: ${reason} before the type was known; recorded as ${UNKNOWN_MEDIA_TYPE}`] : []),
        `Embedded metadata: ${reason}; nothing was read from the file`,
      ],
    },
  };
}
