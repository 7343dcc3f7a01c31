import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { CustodiaConfig } from '#custodia/config';
import { createDataSource, runMigrations, type EntityList } from './data-source.js';
import { StartupError } from '#custodia/errors';
import { hasEmbeddedCluster, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';

export interface OpenDatabase {
  dataSource: DataSource;
  embedded: EmbeddedDatabase | null;
  close(): Promise<void>;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL of the data folder (the CLI
 * shares one an API process already runs), then applies pending migrations.
 */
export async function openDatabase(
  config: CustodiaConfig,
  logger: Logger,
  entities: EntityList,
  options: {
    shareRunning?: boolean;
    /** False: refuse, rather than create, an archive that does not exist yet (the CLI without --init, the worker). */
    create?: boolean;
    /** What the refusal tells the operator to do instead (default: the CLI's --init). */
    remedy?: string;
  } = {},
): Promise<OpenDatabase> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  const create = options.create ?? true;
  const remedy = options.remedy ?? 'pass --init to create a new, empty archive there';
  if (!url && !create && !(await hasEmbeddedCluster(config.dataDir))) throw noArchive(`CUSTODIA_DATA_DIR ${config.dataDir}`, remedy);
  if (!url) {
    const pgLog = logger.child({ component: 'postgres' });
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      shareRunning: options.shareRunning,
      onLog: (message) => pgLog.debug(message.trim()),
    });
    logger.info(
      { startupMs: embedded.startupMs, initialised: embedded.initialised, port: config.embeddedPostgresPort },
      'embedded PostgreSQL started',
    );
    url = embedded.url;
  }
  const dataSource = createDataSource(url, entities);
  const close = async (): Promise<void> => {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  };
  try {
    await dataSource.initialize();
    if (!create) {
      const [{ found }] = await dataSource.query(`SELECT to_regclass('public.migrations') IS NOT NULL AS found`);
      if (!found) throw noArchive('DATABASE_URL', remedy);
    }
    const applied = await runMigrations(dataSource);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { dataSource, embedded, close };
}

/** What the CLI says instead of silently opening a new, empty archive where none was. */
function noArchive(where: string, remedy: string): StartupError {
  return new StartupError(
    `No archive at ${where}. Give this process the server's settings (the same DATABASE_URL and CUSTODIA_DATA_DIR, e.g. in .env ` +
      `or CUSTODIA_ENV_FILE), or ${remedy}.`,
  );
}
