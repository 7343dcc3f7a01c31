import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDataSource, runMigrations, startEmbeddedPostgres } from '../../libs/db/src/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL with the right to create databases (any database name in it is replaced). */
    pgServerUrl: string;
    /** A migrated database each test file copies (CREATE DATABASE ... TEMPLATE). */
    templateDatabase: string;
    embeddedStartupMs: number;
  }
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + database;
  return parsed.toString();
}

/**
 * One PostgreSQL for the whole run: DATABASE_URL when set (CI runs the suite a second time
 * against the machine's PostgreSQL 15), else an embedded server in a temporary folder.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let serverUrl = process.env['DATABASE_URL'];
  let stopEmbedded: (() => Promise<void>) | undefined;
  let tempDir: string | undefined;
  let startupMs = 0;
  if (!serverUrl) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-test-pg-'));
    await chmod(tempDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir: tempDir, port: await freePort() });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
    startupMs = embedded.startupMs;
  }
  const template = `custodia_tpl_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  const dataSource = createDataSource(withDatabase(serverUrl, template), [], { poolSize: 2 });
  await dataSource.initialize();
  await runMigrations(dataSource);
  await dataSource.destroy();

  project.provide('pgServerUrl', serverUrl);
  project.provide('templateDatabase', template);
  project.provide('embeddedStartupMs', startupMs);

  return async () => {
    const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
    await client.connect();
    // Databases a crashed test file left behind go too.
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `custodia_t_${process.pid}_%`],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await client.end();
    if (stopEmbedded) await stopEmbedded();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
}
