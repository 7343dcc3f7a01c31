// A database that cannot be used at start is said in one line, what to correct, never a stack
// (README: "one line saying what to do"): the API and the worker, as processes of their own.
import { inject, describe, expect, it } from 'vitest';
import { databaseStartFailure } from '../libs/db/src/index.js';
import { freePort, withDatabase } from './support/postgres-server.js';
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

  it('the worker: a database that does not exist', async () => {
    const url = withDatabase(inject('pgServerUrl'), 'custodia_no_such_database');
    const worker = await startProcess('apps/worker/src/main.ts', { DATABASE_URL: url, LOG_LEVEL: 'info' }, ONE_LINE);
    await worker.kill();
    expect(worker.ready[1]).toMatch(/database "custodia_no_such_database" does not exist \(PostgreSQL\): create it \(createdb\), or correct the database name in DATABASE_URL\.$/);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  });

  it('words what it knows and leaves the rest to the full log', () => {
    expect(databaseStartFailure(Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' }))).toMatch(/correct the role or password/);
    expect(databaseStartFailure({ driverError: Object.assign(new Error('permission denied for schema public'), { code: '42501' }) })).toMatch(/Database roles/);
    expect(databaseStartFailure(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED', address: '::1', port: 5432 })]))).toMatch(/at ::1:5432 refuses/);
    expect(databaseStartFailure(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
    expect(databaseStartFailure(new Error('a bug'))).toBeUndefined();
  });
});
