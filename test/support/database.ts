import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { inject } from 'vitest';
import { EMBEDDED_APPLICATION_ROLE } from '../../libs/db/src/application-role.js';
import { asRole } from '../../libs/db/src/open-database.js';
import { MIGRATIONS } from '../../libs/db/src/migrations/index.js';
import { onDatabase, onServer, withDatabase } from './postgres-server.js';

export interface TestDatabase {
  /** The database as its owner, a superuser. */
  url: string;
  /** The database as the archive's application role (what apps in tests connect as). */
  appUrl: string;
  name: string;
  /** Runs SQL as the server's superuser (for tests that go behind the application's back). */
  superuserQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  // A copy keeps its tables' grants, not the database's: the queue's schema is the app's to create.
  await onServer(serverUrl, [`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`], [`GRANT CREATE ON DATABASE ${name} TO ${EMBEDDED_APPLICATION_ROLE}`]);
  const url = withDatabase(serverUrl, name);
  return {
    url,
    appUrl: asRole(url, EMBEDDED_APPLICATION_ROLE),
    name,
    superuserQuery: (sql, params) => onDatabase(url, [sql, params]),
    async drop() {
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

/**
 * Makes `change` commit while `request` runs, after the request's own checks at its start have
 * passed: takes `lock` (a row lock as the product's change takes it first) in a transaction of its
 * own, starts `request`, waits until the request is blocked behind a lock (at most 5 s: a request
 * that does not wait goes on at once), then makes `change` in that transaction and commits.
 */
export async function whileChangeCommits<T>(
  url: string,
  lock: { sql: string; params: unknown[] },
  request: () => PromiseLike<T>,
  change: (tx: pg.Client) => Promise<unknown>,
): Promise<T> {
  const tx = new pg.Client({ connectionString: url });
  await tx.connect();
  try {
    await tx.query('BEGIN');
    await tx.query(lock.sql, lock.params);
    const answer = Promise.resolve(request());
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 10))) {
      const waiting = await tx.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
      if (waiting.rowCount) break;
    }
    await change(tx);
    await tx.query('COMMIT');
    return await answer;
  } finally {
    await tx.end();
  }
}

/** Runs `use` with a DataSource on `url` that knows `migrations` (to run or undo them), then closes it. */
export async function withMigrations<T>(url: string, migrations: DataSourceOptions['migrations'], use: (db: DataSource) => Promise<T>): Promise<T> {
  const db = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each', logging: false, poolSize: 1 });
  await db.initialize();
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}

/**
 * A database of its own migrated up to, not including, `migration` (to test that migration on
 * rows written before it), with a client connected to it; `drop` ends both.
 */
export async function databaseBefore(migration: (typeof MIGRATIONS)[number]): Promise<{ url: string; client: pg.Client; drop(): Promise<void> }> {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  await onServer(serverUrl, [`CREATE DATABASE ${name}`]);
  await withMigrations(url, MIGRATIONS.filter((m) => m !== migration), (db) => db.runMigrations({ transaction: 'each' }));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    url,
    client,
    async drop() {
      await client.end();
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}
