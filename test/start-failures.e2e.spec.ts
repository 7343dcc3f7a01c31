// A database that cannot be used at start is said in one line, what to correct, never a stack
// (README: "one line saying what to do"): the API and the worker, as processes of their own.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inject, describe, expect, it } from 'vitest';
import { createDataSource, databaseStartFailure, runMigrations } from '../libs/db/src/index.js';
import { freePort, onServer, withDatabase } from './support/postgres-server.js';
import { startProcess } from './support/processes.js';

const ONE_LINE = /could not start: (.*)\n/;

describe('a database that cannot be used at start (e2e)', () => {
  it('the API: a server that refuses connections', async () => {
    const port = await freePort();
    const app = await startProcess('apps/api/src/main.ts', { DATABASE_URL: `postgres://custodia@127.0.0.1:${port}/custodia`, PORT: '0', LOG_LEVEL: 'info' }, ONE_LINE);
    await app.kill();
    expect(app.ready[1]).toBe(`the database server at 127.0.0.1:${port} refuses connections (ECONNREFUSED): start PostgreSQL, or correct DATABASE_URL.`);
    expect(app.output()).not.toMatch(/\n\s+at /);
  });

  it('the API: a taken port, said before PostgreSQL starts', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-port-'));
    try {
      const app = await startProcess('apps/api/src/main.ts', { CUSTODIA_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' }, ONE_LINE);
      await app.kill();
      expect(app.ready[1]).toBe(`port 127.0.0.1:${port} is taken: set PORT to a free port (0 picks one), or stop what uses it.`);
      expect(app.output()).not.toMatch(/embedded PostgreSQL started|\n\s+at /);
    } finally {
      taken.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('the worker: a database that does not exist', async () => {
    const url = withDatabase(inject('pgServerUrl'), 'custodia_no_such_database');
    const worker = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, LOG_LEVEL: 'info' }, ONE_LINE);
    await worker.kill();
    expect(worker.ready[1]).toMatch(/database "custodia_no_such_database" does not exist \(PostgreSQL\): create it \(createdb\), or correct the database name in DATABASE_URL\.$/);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  });

  it('the worker on a new database waits for an API to create the archive, then works', async () => {
    // A compose file starts the APIs and the worker together: the worker used to stop at once.
    const serverUrl = inject('pgServerUrl');
    const name = `custodia_t_wait_${randomBytes(4).toString('hex')}`;
    await onServer(serverUrl, [`CREATE DATABASE ${name}`]);
    const url = withDatabase(serverUrl, name);
    try {
      const worker = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, LOG_LEVEL: 'info' }, /no archive at DATABASE_URL yet: waiting up to 60 s for an API to create it/);
      // As an API migrates: under the migrations' lock, which the worker then waits for.
      const api = await createDataSource(url, [], { poolSize: 2 }).initialize();
      await runMigrations(api).finally(() => api.destroy());
      await worker.until(/working the job queue/);
      await worker.kill('SIGINT');
    } finally {
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    }
  });

  it('words what it knows and leaves the rest to the full log', () => {
    expect(databaseStartFailure(Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' }))).toMatch(/correct the role or password/);
    expect(databaseStartFailure({ driverError: Object.assign(new Error('permission denied for schema public'), { code: '42501' }) })).toMatch(/Database roles/);
    expect(databaseStartFailure(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED', address: '::1', port: 5432 })]))).toMatch(/at ::1:5432 refuses/);
    expect(databaseStartFailure(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
    expect(databaseStartFailure(new Error('a bug'))).toBeUndefined();
  });
});
