import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CasesModule } from '#custodia/cases';
import { UploadsModule } from '#custodia/uploads';
import { CustodyModule } from '#custodia/custody';
import { JobHandlers, JobQueue, JobsModule } from '#custodia/jobs';
import { configureSharp } from '#custodia/media';
import { LocalBlobStore, openS3BlobStore, s3StagingDir, type BlobStore } from '#custodia/storage';
import { DerivativesJob } from './derivatives.job.js';
import { EvidenceRepository } from './evidence.repository.js';
import { EvidenceTagsService } from './evidence-tags.service.js';
import { BLOB_STORE, EvidenceService } from './evidence.service.js';
import { EvidenceLinks } from './links.js';
import { FixityJob, fixityRunId, fixitySliceMs } from './fixity.job.js';
import { FixityRepository } from './fixity.repository.js';
import { assertStoreHoldsArchive, evidenceStoreName } from './store-holds-archive.js';

/**
 * Registers the derivative and fixity jobs' handlers; at bootstrap, sets up sharp, sweeps what a
 * crash left and, where this process works the queue, keeps the fixity schedule (one run enqueued
 * per slice of time, under an id every process computes alike, so several instances enqueue one
 * run between them) and, at start and every STALLED_CHECK_MS, enqueues again the derivatives of
 * items whose job was given up or lost.
 */
/** How often items whose derivatives job was given up (retries spent during an outage) are enqueued again. */
const STALLED_CHECK_MS = 10 * 60_000;

@Injectable()
class EvidenceWorker implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('EvidenceWorker');
  private fixityTimer: NodeJS.Timeout | undefined;
  private stalledTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: JobHandlers,
    private readonly job: DerivativesJob,
    private readonly fixity: FixityJob,
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  onModuleInit(): void {
    this.handlers.register('evidence.derivatives', ({ evidenceId }) => this.job.run(evidenceId), {
      concurrency: this.config.workerConcurrency,
      owner: 'EvidenceModule',
    });
    this.handlers.register('evidence.fixity', async () => void (await this.fixity.run()), { concurrency: 1, owner: 'EvidenceModule' });
  }

  async onApplicationBootstrap(): Promise<void> {
    configureSharp();
    const swept = await this.store.sweepTemporary();
    if (swept) this.logger.warn(`removed ${swept} unfinished uploads left by an earlier crash`);
    if (this.config.workQueue && this.config.fixityEnabled) this.scheduleFixity(fixitySliceMs(this.config.fixityIntervalSeconds));
    if (this.config.workQueue) {
      await this.requeueStalled();
      this.stalledTimer = setInterval(() => void this.requeueStalled(), STALLED_CHECK_MS).unref();
    }
  }

  onModuleDestroy(): void {
    clearTimeout(this.fixityTimer);
    this.fixityTimer = undefined;
    clearInterval(this.stalledTimer);
  }

  private async requeueStalled(): Promise<void> {
    try {
      const requeued = await this.job.requeueStalled(STALLED_CHECK_MS);
      if (requeued) this.logger.warn(`enqueued again the derivatives of ${requeued} items whose job was given up or lost`);
    } catch (error) {
      // The next check tries again; a database away for a moment must not stop the process.
      this.logger.warn(`could not look for items whose derivatives were given up: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Enqueues a run at each boundary of the wall clock's slices (not at boot, nor counted from
   * it): restarts more frequent than a slice do not starve the schedule, and every instance
   * enqueues at the same moment under the same id.
   */
  private scheduleFixity(sliceMs: number): void {
    const wait = sliceMs - (Date.now() % sliceMs);
    this.fixityTimer = setTimeout(() => {
      void this.enqueueFixity(sliceMs).finally(() => {
        if (this.fixityTimer) this.scheduleFixity(sliceMs);
      });
    }, wait).unref();
  }

  private async enqueueFixity(sliceMs: number): Promise<void> {
    try {
      await this.queue.enqueue(this.db.manager, 'evidence.fixity', {}, fixityRunId(Date.now(), sliceMs));
      this.queue.wake('evidence.fixity');
    } catch (error) {
      // The next slice enqueues again; a database away for a moment must not stop the schedule.
      this.logger.warn(`could not enqueue a fixity run: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

@Module({
  imports: [CustodyModule, CasesModule, JobsModule, UploadsModule],
  providers: [
    {
      provide: BLOB_STORE,
      inject: [CUSTODIA_CONFIG, DataSource],
      // With CUSTODIA_S3_ENDPOINT, originals live in the bucket; uploads are still hashed on local
      // disk first. A store that holds none of the archive's evidence stops the start.
      useFactory: async (config: CustodiaConfig, db: DataSource): Promise<BlobStore> => {
        const store = config.s3 ? await openS3BlobStore({ ...config.s3, stagingDir: s3StagingDir(config.dataDir) }) : new LocalBlobStore(path.join(config.dataDir, 'blobs'));
        await assertStoreHoldsArchive(store, db, evidenceStoreName(config));
        return store;
      },
    },
    EvidenceRepository,
    EvidenceService,
    EvidenceTagsService,
    EvidenceLinks,
    DerivativesJob,
    FixityRepository,
    FixityJob,
    EvidenceWorker,
  ],
  exports: [EvidenceService, EvidenceTagsService, EvidenceLinks, FixityJob, BLOB_STORE],
})
export class EvidenceModule {}
