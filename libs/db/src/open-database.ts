import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { CustodiaConfig } from '#custodia/config';
import { EMBEDDED_APPLICATION_ROLE, grantApplicationRights, logRewritableBy } from './application-role.js';
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
    /**
     * With `create: false` on DATABASE_URL, how long to wait for another process to create the
     * archive before refusing: a worker started beside the APIs on a new database (a compose file
     * starts them together) waits for their migrations rather than stop.
     */
    waitForArchiveMs?: number;
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
      { startupMs: embedded.startupMs, initialised: embedded.initialised, port: embedded.port },
      'embedded PostgreSQL started',
    );
    for (const { dir, dataFolder } of embedded.abandoned) {
      logger.warn(
        `the embedded database ${dir} belonged to the data folder ${dataFolder}, which is gone or uses another database now: it still holds ` +
          `that archive's records. Restore the folder, or remove it (rm -rf ${dir}) once that archive is no longer needed (README, "Backups and restore").`,
      );
    }
    url = embedded.url;
  }
  // The schema's owner migrates; the application's sessions log in as a role that may only read
  // and add to the custody log (the embedded server's own, or DATABASE_URL's when
  // CUSTODIA_MIGRATION_DATABASE_URL is the owner's). With DATABASE_URL alone, one role does both.
  const ownerUrl = embedded ? url : (config.migrationDatabaseUrl ?? url);
  const appUrl = embedded ? asRole(url, EMBEDDED_APPLICATION_ROLE) : url;
  const dataSource = createDataSource(appUrl, entities);
  const close = async (): Promise<void> => {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  };
  try {
    const owner = ownerUrl === appUrl ? dataSource : createDataSource(ownerUrl, [], { poolSize: 2 });
    await owner.initialize();
    try {
      if (!create) {
        const deadline = Date.now() + (options.waitForArchiveMs ?? 0);
        for (let waited = false; ; waited = true) {
          const [{ found }] = await owner.query(`SELECT to_regclass('public.migrations') IS NOT NULL AS found`);
          if (found) break;
          if (Date.now() >= deadline) throw noArchive('DATABASE_URL', remedy);
          if (!waited) logger.info(`no archive at DATABASE_URL yet: waiting up to ${Math.round((options.waitForArchiveMs ?? 0) / 1000)} s for an API to create it`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      const applied = await runMigrations(owner);
      if (applied.length) logger.info({ migrations: applied }, 'database migrated');
      if (owner !== dataSource) {
        const { passwordSet } = await grantApplicationRights(owner, appUrl);
        if (passwordSet) {
          logger.warn(`the role ${decodeURIComponent(new URL(appUrl).username)} refused DATABASE_URL's password: set it to that one (a rotated password); other processes still using the old one fail to connect until restarted with the new`);
        }
      }
    } finally {
      if (owner !== dataSource) await owner.destroy();
    }
    if (!dataSource.isInitialized) await dataSource.initialize();
    const exposed = await logRewritableBy(dataSource);
    if (exposed) {
      logger.warn(
        `${exposed}: it could drop or rewrite the custody log, which must be append-only for the database too (custody.md). ` +
          `Run the archive as a role without those rights and give the schema owner's connection as CUSTODIA_MIGRATION_DATABASE_URL (README, "Database roles").`,
      );
    }
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { dataSource, embedded, close };
}

/** The same server and database as another role (whose password, for the embedded server, is the cluster's). */
export function asRole(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  return parsed.toString();
}

/** What the CLI says instead of silently opening a new, empty archive where none was. */
function noArchive(where: string, remedy: string): StartupError {
  return new StartupError(
    `No archive at ${where}. Give this process the server's settings (the same DATABASE_URL and CUSTODIA_DATA_DIR, e.g. in .env ` +
      `or CUSTODIA_ENV_FILE), or ${remedy}.`,
  );
}
