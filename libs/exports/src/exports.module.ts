import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import path from 'node:path';
import { CasesModule } from '#custodia/cases';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyModule } from '#custodia/custody';
import { EvidenceModule } from '#custodia/evidence';
import { JobQueue, JobsModule } from '#custodia/jobs';
import { RecordsModule } from '#custodia/records';
import { LocalBlobStore, type BlobStore } from '#custodia/storage';
import { EXPORT_STORE } from './export-row.js';
import { ExportsService } from './exports.service.js';
import { PackageBuilder } from './package-builder.js';

/** Works the `exports.build` queue where this process works jobs: one package at a time, they are heavy on disk. */
@Injectable()
class ExportWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('ExportWorker');

  constructor(
    private readonly queue: JobQueue,
    private readonly builder: PackageBuilder,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    @Inject(EXPORT_STORE) private readonly packages: BlobStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const swept = await this.packages.sweepTemporary();
    if (swept) this.logger.warn(`removed ${swept} unfinished packages left by an earlier crash`);
    await this.queue.start();
    if (this.config.workQueue) await this.queue.work('exports.build', ({ exportId }) => this.builder.run(exportId), 1);
  }
}

@Module({
  imports: [CustodyModule, CasesModule, JobsModule, EvidenceModule, RecordsModule],
  providers: [
    { provide: EXPORT_STORE, inject: [CUSTODIA_CONFIG], useFactory: (config: CustodiaConfig) => new LocalBlobStore(path.join(config.dataDir, 'exports')) },
    ExportsService,
    PackageBuilder,
    ExportWorker,
  ],
  exports: [ExportsService],
})
export class ExportsModule {}
