import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsersService } from '#custodia/auth';
import { loadConfig } from '#custodia/config';
import { createDataSource, runMigrations } from '#custodia/db';
import { createLogger } from '#custodia/logging';
import type { DataSource } from 'typeorm';
import type { ArchiveHandle } from './http-upload.js';
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

/** GETs each query (a path with its query string) in turn, as `token`: each one's milliseconds, and the items the pages held. */
export async function timedQueries(url: string, token: string, queries: string[]): Promise<{ ms: number[]; items: number }> {
  const ms: number[] = [];
  let items = 0;
  for (const query of queries) {
    const started = now();
    const res = await fetch(`${url}${query}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { items: unknown[] };
    if (res.status !== 200) throw new Error(`${query}: ${res.status} ${JSON.stringify(body)}`);
    ms.push(now() - started);
    items += body.items.length;
  }
  return { ms, items };
}

/** p50/p95/max of a list of milliseconds. */
export function percentiles(ms: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]! };
}

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
export const fmt = (n: number, digits = 2): string => n.toFixed(digits);
/** The median (of an even count, the mean of the middle two); NaN of none. */
export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The whole API on a throw-away database and data folder, with an admin token and a case. */
export async function benchApp(
  label: string,
  env: Record<string, string> = {},
): Promise<{
  url: string;
  token: string;
  caseId: string;
  dataDir: string;
  server: string;
  databaseUrl: string;
  /** The Nest application, for a bench that compares a route with and without a part of its work. */
  nest: Awaited<ReturnType<typeof import('../apps/api/src/app.js').createApp>>;
  close(): Promise<void>;
}> {
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
    nest: app,
    async close() {
      await app.close();
      await ds.destroy();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A built app (`entry`, e.g. dist/apps/worker/src/main.js) in a process of its own on the
 * archive's database and data folder, as compose runs it, once its output matches `ready`.
 */
export function startBuilt(
  app: { databaseUrl: string; dataDir: string },
  entry: string,
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; ready: RegExpMatchArray }> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, DATABASE_URL: app.databaseUrl, CUSTODIA_DATA_DIR: app.dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = out.match(ready);
      if (found) resolve({ child, ready: found });
    });
    child.on('exit', (code) => reject(new Error(`${entry} exited (${code}): ${out}`)));
  });
}

/** `count` worker processes (the built apps/worker); each has said it works. */
export function startWorkers(app: { databaseUrl: string; dataDir: string }, count: number, env: Record<string, string> = {}): Promise<ChildProcess[]> {
  return Promise.all(Array.from({ length: count }, async () => (await startBuilt(app, 'dist/apps/worker/src/main.js', /Custodia worker: working/, env)).child));
}

export { pool, upload, type ArchiveHandle } from './http-upload.js';

/**
 * Waits until the case's `count` items are all `processing: done`, reading the case's listing a
 * page at a time (reading each item would record an `evidence.viewed` per poll).
 */
export async function waitUntilProcessed(app: ArchiveHandle, count: number): Promise<void> {
  for (;;) {
    const states: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const res = await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence?limit=200${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { Authorization: `Bearer ${app.token}` },
      });
      const page = (await res.json()) as { items: { processing: string }[]; nextCursor: string | null };
      states.push(...page.items.map((item) => item.processing));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    if (states.length !== count) throw new Error(`the case lists ${states.length} items, ${count} were uploaded`);
    if (states.includes('failed')) throw new Error('a derivative job failed');
    if (states.every((state) => state === 'done')) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts measuring how busy the machine's CPUs are (Linux's /proc/stat): the returned function
 * gives the busy share of all CPU time since, across all processes; null where /proc is missing.
 */
export function cpuMeter(): () => number | null {
  const read = (): { busy: number; total: number } | null => {
    try {
      const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const total = ticks.reduce((a, b) => a + b, 0);
      return { busy: total - ticks[3]! - ticks[4]!, total };
    } catch {
      return null;
    }
  };
  const before = read();
  return () => {
    const after = read();
    return before && after ? (after.busy - before.busy) / (after.total - before.total) : null;
  };
}
