import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import path from 'node:path';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CasesModule } from '#custodia/cases';
import { UploadsModule } from '#custodia/uploads';
import { CustodyModule } from '#custodia/custody';
import { JobHandlers, JobsModule } from '#custodia/jobs';
import { configureSharp } from '#custodia/media';
import { LocalBlobStore, S3BlobStore, s3StagingDir, type BlobStore } from '#custodia/storage';
import { DerivativesJob } from './derivatives.job.js';
import { EvidenceRepository } from './evidence.repository.js';
import { EvidenceTagsService } from './evidence-tags.service.js';
import { BLOB_STORE, EvidenceService } from './evidence.service.js';
import { EvidenceLinks } from './links.js';

/** Registers the derivative job's handler; at bootstrap, sets up sharp and sweeps what a crash left. */
@Injectable()
class EvidenceWorker implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('EvidenceWorker');

  constructor(
    private readonly handlers: JobHandlers,
    private readonly job: DerivativesJob,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  onModuleInit(): void {
    this.handlers.register('evidence.derivatives', ({ evidenceId }) => this.job.run(evidenceId), {
      concurrency: this.config.workerConcurrency,
      owner: 'EvidenceModule',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    configureSharp();
    const swept = await this.store.sweepTemporary();
    if (swept) this.logger.warn(`removed ${swept} unfinished uploads left by an earlier crash`);
  }
}

@Module({
  imports: [CustodyModule, CasesModule, JobsModule, UploadsModule],
  providers: [
    {
      provide: BLOB_STORE,
      inject: [CUSTODIA_CONFIG],
      // With CUSTODIA_S3_ENDPOINT, originals live in the bucket; uploads are still hashed on local disk first.
      useFactory: (config: CustodiaConfig): BlobStore =>
        config.s3 ? new S3BlobStore({ ...config.s3, stagingDir: s3StagingDir(config.dataDir) }) : new LocalBlobStore(path.join(config.dataDir, 'blobs')),
    },
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
