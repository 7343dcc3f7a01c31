import { Worker } from 'node:worker_threads';

/** SHA-256 and SHA-512 of one file, lowercase hex. */
export interface BagDigests {
  sha256: string;
  sha512: string;
}

const SLOT_BYTES = 1024 * 1024;
/** Slots of shared memory the chunks pass through: what is in flight never exceeds SLOTS MiB. */
const SLOTS = 8;

// A worker of its own (eval: no file to find in dist/ or under the test runner). It hashes each
// chunk where the main thread put it, in shared memory, and hands the slot back.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memory = new Uint8Array(workerData.memory);
const files = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'start') files.set(m.id, workerData.algorithms.map((a) => createHash(a)));
  else if (m.op === 'update') {
    const chunk = memory.subarray(m.slot * ${SLOT_BYTES}, m.slot * ${SLOT_BYTES} + m.length);
    for (const h of files.get(m.id)) h.update(chunk);
    parentPort.postMessage({ op: 'free', slot: m.slot });
  } else if (m.op === 'end') {
    const hashes = files.get(m.id);
    files.delete(m.id);
    const digests = {};
    workerData.algorithms.forEach((a, i) => (digests[a] = hashes[i].digest('hex')));
    parentPort.postMessage({ op: 'digests', id: m.id, digests });
  }
});`;

type Algorithm = keyof BagDigests;

/**
 * Takes BagIt digests (both, or those given) on a second thread, so hashing a large file runs beside the work the
 * main thread does with the same bytes (the ZIP's CRC-32, the package's own SHA-256, the disk).
 * Chunks pass through a fixed ring of shared memory: one copy each, no allocation per chunk, and
 * memory bounded whatever the size of the file.
 */
export class DigestThread<A extends Algorithm = Algorithm> {
  private readonly memory = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly view = new Uint8Array(this.memory);
  private readonly worker: Worker;
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private readonly waiting: (() => void)[] = [];
  /** Per open file, the slot being filled and how much of it holds bytes. */
  private readonly filling = new Map<number, { slot: number; length: number }>();
  private readonly results = new Map<number, { resolve: (d: Pick<BagDigests, A>) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(algorithms: readonly A[] = ['sha256', 'sha512'] as A[]) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory: this.memory, algorithms } });
    this.worker.on('message', (m: { op: 'free'; slot: number } | { op: 'digests'; id: number; digests: Pick<BagDigests, A> }) => {
      if (m.op === 'free') {
        this.free.push(m.slot);
        this.waiting.shift()?.();
      } else {
        this.results.get(m.id)?.resolve(m.digests);
        this.results.delete(m.id);
      }
      this.keepAlive();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => code !== 0 && this.fail(new Error(`the digest thread stopped with code ${code}`)));
    this.worker.unref();
  }

  /** The worker keeps the process alive only while it holds chunks or owes digests: an idle one must not. */
  private keepAlive(): void {
    if (this.free.length < SLOTS || this.results.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.results.values()) reject(error);
    this.results.clear();
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** Opens a file to hash; returns its handle. */
  start(): number {
    const id = this.nextId++;
    this.worker.postMessage({ op: 'start', id });
    return id;
  }

  /**
   * Copies a chunk into shared memory for the worker; waits only when every slot is still being
   * hashed. Small chunks (a ZIP reader's 64 KiB) fill a slot before it is handed over, so the
   * messages stay few whatever the chunk size.
   */
  async update(id: number, chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      let open = this.filling.get(id);
      if (!open) {
        // Slots other files are still filling go to the worker first, so they cannot hold up this one.
        if (this.free.length === 0) for (const other of [...this.filling.keys()]) if (other !== id) this.send(other);
        while (this.free.length === 0 && !this.failure) await new Promise<void>((resume) => this.waiting.push(resume));
        if (this.failure) throw this.failure;
        open = { slot: this.free.pop()!, length: 0 };
        this.filling.set(id, open);
        this.keepAlive();
      }
      const piece = chunk.subarray(at, at + SLOT_BYTES - open.length);
      this.view.set(piece, open.slot * SLOT_BYTES + open.length);
      open.length += piece.length;
      at += piece.length;
      if (open.length === SLOT_BYTES) this.send(id);
    }
  }

  /** Hands a file's partly or wholly filled slot to the worker. */
  private send(id: number): void {
    const open = this.filling.get(id);
    if (!open) return;
    this.filling.delete(id);
    this.worker.postMessage({ op: 'update', id, slot: open.slot, length: open.length });
  }

  /** The file's digests, once the worker has hashed every chunk sent (messages keep their order). */
  end(id: number): Promise<Pick<BagDigests, A>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Pick<BagDigests, A>>((resolve, reject) => {
      this.results.set(id, { resolve, reject });
      this.send(id);
      this.worker.postMessage({ op: 'end', id });
      this.keepAlive();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
