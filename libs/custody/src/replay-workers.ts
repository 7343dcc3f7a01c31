import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  SYSTEM_ACTOR,
  canonicalJson,
  checkReplayPage,
  isCanonicalEncoding,
  type ReplayPage,
  type ReplayPageVerdict,
} from '#custodia/custody-core';

// A worker of its own source (eval: no file to find in dist/ or under the test runner), built from
// the two self-contained functions of custody-core: it checks each page it is sent and posts back
// the page's leaf hashes and verdict.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const { isUtf8 } = require('node:buffer');
const loaded = require(workerData.canonicalizePath);
const canonicalize = typeof loaded === 'function' ? loaded : loaded.default;
const checkReplayPage = (${checkReplayPage.toString()});
const tools = { hash, Buffer, isUtf8, isCanonical: (${canonicalJson.toString()})(canonicalize).isCanonical, systemActorId: workerData.systemActorId };
parentPort.on('message', ({ id, page }) => {
  let verdict;
  try {
    verdict = checkReplayPage(page, tools);
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.stack) || error) });
    return;
  }
  parentPort.postMessage({ id, verdict }, [verdict.hashes.buffer, ...(verdict.levels || []).map((level) => level.buffer)]);
});`;

/** Checks replay pages (custody-core's `checkReplayPage`): on `threads` worker threads, or on this one when 0. */
export class PageCheckers {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (v: ReplayPageVerdict) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(threads: number) {
    const canonicalizePath = createRequire(import.meta.url).resolve('canonicalize');
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { canonicalizePath, systemActorId: SYSTEM_ACTOR.id } });
      worker.on('message', (m: { id: number; verdict?: ReplayPageVerdict; error?: string }) => {
        const waiting = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.verdict) waiting?.resolve(m.verdict);
        else waiting?.reject(new Error(`a replay worker failed: ${m.error}`));
      });
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => code !== 0 && this.fail(new Error(`a replay worker stopped with code ${code}`)));
      this.workers.push(worker);
    }
  }

  /** Worker threads checking pages (0: this thread). */
  get threads(): number {
    return this.workers.length;
  }

  /** The page's verdict; pages are spread over the workers in turn, each page's bytes moved to its worker (gone from `page` here). */
  check(page: ReplayPage): Promise<ReplayPageVerdict> {
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(checkReplayPage(page, { hash, Buffer, isUtf8, isCanonical: isCanonicalEncoding, systemActorId: SYSTEM_ACTOR.id }));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const verdict = new Promise<ReplayPageVerdict>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // A page whose verdict is never asked for (the replay stopped at an earlier divergence) must
    // not be an unhandled rejection when the workers are stopped.
    verdict.catch(() => undefined);
    // The page's bytes move to the worker (no copy); this thread is done with them.
    this.workers[id % this.workers.length]!.postMessage({ id, page }, [page.bytes.buffer]);
    return verdict;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.fail(new Error('the replay is over'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
