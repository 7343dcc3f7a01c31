import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import path from 'node:path';
import { CasesModule } from '#custodia/cases';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyModule } from '#custodia/custody';
import { EvidenceModule } from '#custodia/evidence';
import { JobHandlers, JobsModule } from '#custodia/jobs';
import { RecordsModule } from '#custodia/records';
import { LocalBlobStore, type BlobStore } from '#custodia/storage';
import { EXPORT_STORE } from './export-row.js';
import { ExportsService } from './exports.service.js';
import { PackageBuilder } from './package-builder.js';

/** Registers the `exports.build` handler (one package at a time: they are heavy on disk); sweeps what a crash left. */
@Injectable()
class ExportWorker implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('ExportWorker');

  constructor(
    private readonly handlers: JobHandlers,
    private readonly builder: PackageBuilder,
    @Inject(EXPORT_STORE) private readonly packages: BlobStore,
  ) {}

  onModuleInit(): void {
    this.handlers.register('exports.build', ({ exportId }) => this.builder.run(exportId), { concurrency: 1, owner: 'ExportsModule' });
  }

  async onApplicationBootstrap(): Promise<void> {
    const swept = await this.packages.sweepTemporary();
    if (swept) this.logger.warn(`removed ${swept} unfinished packages left by an earlier crash`);
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
