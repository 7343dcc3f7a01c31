import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { onDatabase, onServer, withDatabase } from './postgres-server.js';

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL as the server's superuser (for tests that go behind the application's back). */
  superuserQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, [`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`]);
  const url = withDatabase(serverUrl, name);
  return {
    url,
    name,
    superuserQuery: (sql, params) => onDatabase(url, [sql, params]),
    async drop() {
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}
