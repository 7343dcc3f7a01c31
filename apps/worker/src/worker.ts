import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { AUTH_ENTITIES } from '#custodia/auth';
import { CASE_ENTITIES } from '#custodia/cases';
import { ConfigModule, type CustodiaConfig } from '#custodia/config';
import { DatabaseModule, openDatabase } from '#custodia/db';
import { EvidenceModule } from '#custodia/evidence';
import { ExportsModule } from '#custodia/exports';
import { NestPinoLogger } from '#custodia/logging';
import type { DataSource } from 'typeorm';

/**
 * The worker: the modules that own background jobs (derivatives, court packages), without HTTP.
 * Their handlers register themselves; JobHandlers checks at boot that every job name has one.
 */
@Module({})
export class WorkerModule {
  static register(config: CustodiaConfig, dataSource: DataSource): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(dataSource), EvidenceModule, ExportsModule],
    };
  }
}

/** A running worker; `stop` lets running jobs finish (pg-boss, graceful), then closes the database. */
export interface RunningWorker {
  context: INestApplicationContext;
  stop(): Promise<void>;
}

/**
 * Starts the worker on the archive's database: DATABASE_URL's server, or the embedded PostgreSQL
 * the API started in CUSTODIA_DATA_DIR (started here if the API is not running). It never
 * creates an archive: with none there (after a minute's wait on DATABASE_URL, for APIs starting
 * beside it), it stops with a message.
 */
export async function startWorker(config: CustodiaConfig, logger: Logger): Promise<RunningWorker> {
  const { dataSource, close } = await openDatabase(config, logger, [...AUTH_ENTITIES, ...CASE_ENTITIES], {
    shareRunning: true,
    create: false,
    remedy: 'start the API first (`npm start`), which creates it',
    waitForArchiveMs: 60_000,
  });
  let context: INestApplicationContext | undefined;
  try {
    context = await NestFactory.createApplicationContext(WorkerModule.register({ ...config, workQueue: true }, dataSource), {
      logger: new NestPinoLogger(logger.child({ component: 'nest' })),
      abortOnError: false,
    });
    await context.init();
  } catch (error) {
    await context?.close().catch(() => undefined);
    await close().catch(() => undefined);
    throw error;
  }
  const started = context;
  let stopping: Promise<void> | undefined;
  return {
    context: started,
    stop: () =>
      (stopping ??= (async () => {
        await started.close();
        await close();
      })()),
  };
}
