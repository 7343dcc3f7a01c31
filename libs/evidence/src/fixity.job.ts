import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog, type CustodyEventInput } from '#custodia/custody';
import { deterministicJobId } from '#custodia/jobs';
import { SYSTEM_ACTOR } from '#custodia/custody-core';
import { BlobNotFoundError, type BlobStore } from '#custodia/storage';
import { ByteRateLimiter } from './byte-rate.js';
import { BLOB_STORE } from './evidence.service.js';
import { FixityRepository, type FixityDueItem, type FixitySummary } from './fixity.repository.js';

// Session advisory lock of a fixity run: one run at a time across every process on the database
// (a second enqueued run, or one on another worker, finds it taken and returns at once).
const RUN_LOCK = 0x666978697479; // "fixity"
/** A run stops taking new batches after this, well before its job expires (EXPIRE_IN_SECONDS); the next run goes on. */
const RUN_BUDGET_MS = 45 * 60_000;
/** Checks are recorded at least this often, so a batch of large videos does not keep its results (and events' times) waiting. */
const RECORD_EVERY_MS = 30_000;

type BlobKind = 'original' | 'thumbnail' | 'preview';

/** One stored blob that is not what its name says: its bytes differ from the hash, or it is gone. */
export interface FixityProblem {
  blob: BlobKind;
  expectedSha256: string;
  /** Null when the blob is missing. */
  computedSha256: string | null;
  problem: 'altered' | 'missing';
}

interface CheckedItem {
  item: FixityDueItem;
  checkedAt: Date;
  ms: number;
  blobs: number;
  problems: FixityProblem[];
}

/** What a run did, for the log and the tests. */
export interface FixityRunResult {
  checked: number;
  failed: number;
  /** False when another run held the lock (nothing was done). */
  ran: boolean;
}

/**
 * The job id of the run for the slice of time containing `now`: the same in every process, so
 * instances that each enqueue a run per slice enqueue one between them (pg-boss ignores a second
 * send with the same id).
 */
export function fixityRunId(now: number, sliceMs: number): string {
  return deterministicJobId(`custodia evidence.fixity ${Math.floor(now / sliceMs)} ${sliceMs}`);
}

/** How often a run is enqueued: often enough that a run cut short by its budget resumes soon, at most hourly. */
export function fixitySliceMs(intervalSeconds: number): number {
  return Math.min(3_600_000, Math.max(60_000, (intervalSeconds * 1000) / 24));
}

/**
 * Fixity checks (issue 12): re-reads every stored blob of the items due (never checked, or
 * checked longer ago than CUSTODIA_FIXITY_INTERVAL_S), oldest check first, at most
 * CUSTODIA_FIXITY_BYTES_PER_S, and compares its SHA-256 with the name it is stored under. Each
 * checked item gets one custody event, `evidence.fixity_checked` or `evidence.fixity_failed`, by
 * the system; a batch's events and schedule updates commit in one transaction.
 */
@Injectable()
export class FixityJob {
  private readonly logger = new Logger('Fixity');
  /** One limiter per process: concurrent runs (there are none, see RUN_LOCK) and retries share the rate. */
  private readonly rate: ByteRateLimiter;

  constructor(
    private readonly db: DataSource,
    private readonly schedule: FixityRepository,
    private readonly custody: CustodyLog,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {
    this.rate = new ByteRateLimiter(config.fixityBytesPerSecond);
  }

  summary(): Promise<FixitySummary> {
    return this.schedule.summary();
  }

  /** Checks the items due until none is left or the run's budget is spent. */
  async run(): Promise<FixityRunResult> {
    const lock = this.db.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = await lock.query('SELECT pg_try_advisory_lock($1) AS locked', [RUN_LOCK]);
      if (!locked) return { checked: 0, failed: 0, ran: false };
      try {
        return await this.checkDue();
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1)', [RUN_LOCK]);
      }
    } finally {
      await lock.release();
    }
  }

  private async checkDue(): Promise<FixityRunResult> {
    const started = Date.now();
    const result: FixityRunResult = { checked: 0, failed: 0, ran: true };
    while (Date.now() - started < RUN_BUDGET_MS) {
      const due = await this.schedule.due(new Date(Date.now() - this.config.fixityIntervalSeconds * 1000), this.config.fixityBatch);
      // A blob stored once for several items (the same file in two cases) is read once per batch.
      const known = new Map<string, Promise<string | null>>();
      let pending: CheckedItem[] = [];
      let since = Date.now();
      try {
        for (const item of due) {
          pending.push(await this.check(item, known));
          if (Date.now() - since >= RECORD_EVERY_MS) {
            await this.record(pending, result);
            pending = [];
            since = Date.now();
          }
        }
      } finally {
        // What was checked before a failure of the store itself (not of a blob) still counts.
        await this.record(pending, result);
      }
      if (due.length < this.config.fixityBatch) break;
    }
    if (result.checked) this.logger.log(`fixity: ${result.checked} items checked, ${result.failed} failed`);
    return result;
  }

  /** Re-hashes the item's original and derivatives; a store that cannot be read (not a missing blob) throws. */
  private async check(item: FixityDueItem, known: Map<string, Promise<string | null>>): Promise<CheckedItem> {
    const start = performance.now();
    const blobs: [BlobKind, string | null][] = [
      ['original', item.sha256],
      ['thumbnail', item.thumbnailSha256],
      ['preview', item.previewSha256],
    ];
    const problems: FixityProblem[] = [];
    let count = 0;
    for (const [kind, expected] of blobs) {
      if (expected === null) continue;
      count++;
      let computed = known.get(expected);
      if (!computed) known.set(expected, (computed = this.rehash(expected)));
      const actual = await computed;
      if (actual === null) problems.push({ blob: kind, expectedSha256: expected, computedSha256: null, problem: 'missing' });
      else if (actual !== expected) problems.push({ blob: kind, expectedSha256: expected, computedSha256: actual, problem: 'altered' });
    }
    return { item, checkedAt: new Date(), ms: Math.round(performance.now() - start), blobs: count, problems };
  }

  /** SHA-256 of the bytes stored under `sha256` now, read through the rate limiter; null when none are stored. */
  private async rehash(sha256: string): Promise<string | null> {
    let stream;
    try {
      stream = await this.store.open(sha256);
    } catch (error) {
      if (error instanceof BlobNotFoundError) return null;
      throw error;
    }
    const hash = createHash('sha256');
    for await (const chunk of stream) {
      await this.rate.take((chunk as Buffer).length);
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  }

  private async record(checked: readonly CheckedItem[], result: FixityRunResult): Promise<void> {
    if (!checked.length) return;
    await this.db.transaction(async (tx) => {
      await this.schedule.record(
        tx,
        checked.map((c) => ({ id: c.item.id, checkedAt: c.checkedAt, failed: c.problems.length > 0 })),
      );
      // The batch's events queued in its transaction; the sequencer integrates them together.
      await this.custody.appendAll(tx, checked.map((c) => this.event(c)));
    });
    for (const c of checked) {
      if (!c.problems.length) continue;
      // Ids and hashes only: the store's paths and the item's file name can name people.
      this.logger.error(
        `fixity check failed: evidence ${c.item.id} of case ${c.item.caseId}: ${c.problems
          .map((p) => (p.problem === 'missing' ? `${p.blob} ${p.expectedSha256} missing from the store` : `${p.blob} ${p.expectedSha256} now hashes to ${p.computedSha256}`))
          .join('; ')}`,
      );
    }
    result.checked += checked.length;
    result.failed += checked.filter((c) => c.problems.length).length;
  }

  private event(c: CheckedItem): CustodyEventInput {
    const common = {
      // The archive checks by itself, for no one (custody.md, "Who acted").
      actor: SYSTEM_ACTOR,
      caseId: c.item.caseId,
      subject: { type: 'evidence', id: c.item.id, sha256: c.item.sha256 },
    };
    if (!c.problems.length) {
      return { ...common, action: 'evidence.fixity_checked', details: { sha256Matched: true, sizeBytes: c.item.sizeBytes, blobs: c.blobs, ms: c.ms } };
    }
    return {
      ...common,
      action: 'evidence.fixity_failed',
      details: { problems: c.problems.map((p) => ({ ...p })), blobs: c.blobs, ms: c.ms },
    };
  }
}
