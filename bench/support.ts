import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsersService } from '#custodia/auth';
import { loadConfig } from '#custodia/config';
import { createDataSource, runMigrations } from '#custodia/db';
import { createLogger } from '#custodia/logging';
import type { DataSource } from 'typeorm';
import { onServer, throwawayServer, withDatabase } from '../test/support/postgres-server.js';

/** A throw-away migrated database: on DATABASE_URL's server when set, else an embedded one. */
export async function benchDatabase(label: string): Promise<{ ds: DataSource; server: string; close(): Promise<void> }> {
  const server = await throwawayServer(`bench-${label}`);
  const name = `custodia_bench_${label}_${process.pid}`;
  await onServer(server.url, [`DROP DATABASE IF EXISTS ${name}`], [`CREATE DATABASE ${name}`]);
  const ds = createDataSource(withDatabase(server.url, name), [], { poolSize: 12 });
  await ds.initialize();
  await runMigrations(ds);
  const version = (await ds.query('SHOW server_version'))[0].server_version as string;
  return {
    ds,
    server: version,
    async close() {
      await ds.destroy();
      await onServer(server.url, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
      await server.stop();
    },
  };
}

/** p50/p95/max of a list of milliseconds. */
export function percentiles(ms: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]! };
}

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
export const fmt = (n: number, digits = 2): string => n.toFixed(digits);

/** The whole API on a throw-away database and data folder, with an admin token and a case. */
export async function benchApp(
  label: string,
  env: Record<string, string> = {},
): Promise<{ url: string; token: string; caseId: string; dataDir: string; server: string; databaseUrl: string; close(): Promise<void> }> {
  // The API is loaded only by the benchmarks that run it (NestJS is not needed for the others).
  const { createApp } = await import('../apps/api/src/app.js');
  const { ENTITIES } = await import('../apps/api/src/entities.js');
  const db = await benchDatabase(label);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `custodia-bench-data-${label}-`));
  const config = loadConfig({ CUSTODIA_DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORT: '0', ...env });
  const ds = createDataSource((db.ds.options as { url: string }).url, ENTITIES, { poolSize: 10 });
  await ds.initialize();
  const app = await createApp(config, ds, createLogger('warn'));
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  await app.get(UsersService).ensureFirstAdmin('bench@custodia.test', 'bench password 123');
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'bench@custodia.test', password: 'bench password 123' }),
  }).then((r) => r.json() as Promise<{ accessToken: string }>);
  const created = await fetch(`${url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.accessToken}` },
    body: JSON.stringify({ title: `bench ${label}` }),
  }).then((r) => r.json() as Promise<{ id: string }>);
  return {
    url,
    token: login.accessToken,
    caseId: created.id,
    dataDir,
    server: db.server,
    databaseUrl: (db.ds.options as { url: string }).url,
    async close() {
      await app.close();
      await ds.destroy();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
