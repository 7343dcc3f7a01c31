import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { UsersService } from '#custodia/auth';
import type { CustodiaConfig } from '#custodia/config';
import { createDataSource, runMigrations, startEmbeddedPostgres, type EmbeddedDatabase } from '#custodia/db';
import { createApp } from './app.js';
import { ENTITIES } from './entities.js';

/** A running archive: HTTP server, database and (without DATABASE_URL) its embedded PostgreSQL. */
export interface RunningCustodia {
  app: NestExpressApplication;
  dataSource: DataSource;
  url: string;
  embedded: EmbeddedDatabase | null;
  /** Stops taking requests, lets in-flight ones finish, closes the database, stops PostgreSQL. */
  stop(): Promise<void>;
}

/** Opens (or starts) the database, migrates it, and connects TypeORM. */
export async function openDatabase(
  config: CustodiaConfig,
  logger: Logger,
): Promise<{ dataSource: DataSource; embedded: EmbeddedDatabase | null }> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    const pgLog = logger.child({ component: 'postgres' });
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      onLog: (message) => pgLog.debug(message.trim()),
    });
    logger.info(
      { startupMs: embedded.startupMs, initialised: embedded.initialised, port: config.embeddedPostgresPort },
      'embedded PostgreSQL started',
    );
    url = embedded.url;
  }
  const dataSource = createDataSource(url, ENTITIES);
  try {
    await dataSource.initialize();
    const applied = await runMigrations(dataSource);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  return { dataSource, embedded };
}

/** Starts the whole archive as `npm start` does. */
export async function startCustodia(config: CustodiaConfig, logger: Logger): Promise<RunningCustodia> {
  const { dataSource, embedded } = await openDatabase(config, logger);
  let app: NestExpressApplication;
  try {
    app = await createApp(config, dataSource, logger);
    if (config.adminEmail && config.adminPassword) {
      const admin = await app.get(UsersService).ensureFirstAdmin(config.adminEmail, config.adminPassword);
      if (admin) logger.info({ userId: admin.id }, 'first administrator created from CUSTODIA_ADMIN_EMAIL');
    }
    await app.listen(config.port, config.host);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    app,
    dataSource,
    url,
    embedded,
    stop: () =>
      (stopping ??= (async () => {
        await app.close();
        if (dataSource.isInitialized) await dataSource.destroy();
        await embedded?.stop();
      })()),
  };
}
