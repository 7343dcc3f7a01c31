import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import path from 'node:path';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CasesModule } from '#custodia/cases';
import { UploadsModule } from '#custodia/uploads';
import { CustodyModule } from '#custodia/custody';
import { JobQueue, JobsModule } from '#custodia/jobs';
import { configureSharp } from '#custodia/media';
import { LocalBlobStore, type BlobStore } from '#custodia/storage';
import { DerivativesJob } from './derivatives.job.js';
import { EvidenceRepository } from './evidence.repository.js';
import { EvidenceTagsService } from './evidence-tags.service.js';
import { BLOB_STORE, EvidenceService } from './evidence.service.js';
import { EvidenceLinks } from './links.js';

/** Starts the job queue and, where this process works it, the derivative worker. */
@Injectable()
class EvidenceWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('EvidenceWorker');

  constructor(
    private readonly queue: JobQueue,
    private readonly job: DerivativesJob,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    configureSharp();
    const swept = await this.store.sweepTemporary();
    if (swept) this.logger.warn(`removed ${swept} unfinished uploads left by an earlier crash`);
    await this.queue.start();
    if (this.config.workQueue) {
      await this.queue.work('evidence.derivatives', ({ evidenceId }) => this.job.run(evidenceId), this.config.workerConcurrency);
    }
  }
}

@Module({
  imports: [CustodyModule, CasesModule, JobsModule, UploadsModule],
  providers: [
    { provide: BLOB_STORE, inject: [CUSTODIA_CONFIG], useFactory: (config: CustodiaConfig) => new LocalBlobStore(path.join(config.dataDir, 'blobs')) },
    EvidenceRepository,
    EvidenceService,
    EvidenceTagsService,
    EvidenceLinks,
    DerivativesJob,
    EvidenceWorker,
  ],
  exports: [EvidenceService, EvidenceTagsService, EvidenceLinks, BLOB_STORE],
})
export class EvidenceModule {}
