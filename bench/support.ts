import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDataSource, runMigrations, startEmbeddedPostgres } from '#custodia/db';
import type { DataSource } from 'typeorm';

/** A throw-away migrated database: on DATABASE_URL's server when set, else an embedded one. */
export async function benchDatabase(label: string): Promise<{ ds: DataSource; server: string; close(): Promise<void> }> {
  let serverUrl = process.env['DATABASE_URL'];
  let stop = async (): Promise<void> => undefined;
  let dir: string | undefined;
  if (!serverUrl) {
    dir = await mkdtemp(path.join(os.tmpdir(), `custodia-bench-${label}-`));
    await chmod(dir, 0o755);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const embedded = await startEmbeddedPostgres({ dataDir: dir, port });
    serverUrl = embedded.url;
    stop = embedded.stop;
  }
  const name = `custodia_bench_${label}_${process.pid}`;
  const admin = new pg.Client({ connectionString: withDb(serverUrl, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const ds = createDataSource(withDb(serverUrl, name), [], { poolSize: 12 });
  await ds.initialize();
  await runMigrations(ds);
  const server = (await ds.query('SHOW server_version'))[0].server_version as string;
  return {
    ds,
    server,
    async close() {
      await ds.destroy();
      const c = new pg.Client({ connectionString: withDb(serverUrl!, 'postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

/** p50/p95/max of a list of milliseconds. */
export function percentiles(ms: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]! };
}

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
export const fmt = (n: number, digits = 2): string => n.toFixed(digits);
