import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../libs/db/src/index.js';

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

/** The same server URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + database;
  return parsed.toString();
}

/** Runs statements on the server's `postgres` database (CREATE/DROP DATABASE and the like). */
export function onServer<T extends pg.QueryResultRow>(serverUrl: string, ...statements: [string, unknown[]?][]): Promise<T[]> {
  return onDatabase<T>(withDatabase(serverUrl, 'postgres'), ...statements);
}

/** Runs statements, one after another on one connection, in the database `url` names; the last one's rows. */
export async function onDatabase<T extends pg.QueryResultRow>(url: string, ...statements: [string, unknown[]?][]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: T[] = [];
    for (const [sql, params] of statements) rows = (await client.query<T>(sql, params)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL server for tests and benchmarks: DATABASE_URL's when set (CI's PostgreSQL 15),
 * else an embedded one in a temporary folder, removed by `stop()`.
 */
export async function throwawayServer(label: string): Promise<{ url: string; startupMs: number; stop(): Promise<void> }> {
  const configured = process.env['DATABASE_URL'];
  if (configured) return { url: configured, startupMs: 0, stop: async () => undefined };
  // A 0700 folder as mkdtemp makes it, opened to nobody: as root, the cluster goes where the
  // postgres user can reach it (startEmbeddedPostgres), as it does for `npm start`.
  const dir = await mkdtemp(path.join(os.tmpdir(), `custodia-${label}-pg-`));
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  return {
    url: embedded.url,
    startupMs: embedded.startupMs,
    async stop() {
      await embedded.stop();
      // As root the cluster is outside the data folder (/var/lib/custodia/clusters/...).
      await rm(embedded.clusterDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
