import { Injectable, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { JobHandlers } from './job-handlers.js';
import { JobQueue } from './job-queue.js';

/** Stops the queue (gracefully, letting running jobs finish) when the application closes. */
@Injectable()
class JobQueueLifecycle implements OnModuleDestroy {
  constructor(private readonly queue: JobQueue) {}

  onModuleDestroy(): Promise<void> {
    return this.queue.stop();
  }
}

/**
 * The one job queue of a process, shared by every module that enqueues or works jobs, and the
 * handlers those modules register (JobHandlers), worked at bootstrap where this process works jobs.
 */
@Module({
  providers: [
    {
      provide: JobQueue,
      inject: [DataSource, CUSTODIA_CONFIG],
      useFactory: (db: DataSource, config: CustodiaConfig) => {
        const logger = new Logger('JobQueue');
        return new JobQueue({
          connectionString: (db.options as { url: string }).url,
          pollingIntervalSeconds: 0.5,
          expireInSeconds: config.jobExpireSeconds,
          maintenanceIntervalSeconds: config.jobMaintenanceSeconds,
          orphanCheckSeconds: config.jobOrphanSeconds,
          onError: (error) => logger.error(`job queue: ${String(error)}`),
        });
      },
    },
    JobQueueLifecycle,
    JobHandlers,
  ],
  exports: [JobQueue, JobHandlers],
})
export class JobsModule {}
