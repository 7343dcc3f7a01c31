import type pg from 'pg';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { expect } from 'vitest';
import type { DataSource } from 'typeorm';
import { createApp } from '../../apps/api/src/app.js';
import { ENTITIES } from '../../apps/api/src/entities.js';
import { TokenCache, UsersService, type Role } from '../../libs/auth/src/index.js';
import { loadConfig, type CustodiaConfig } from '../../libs/config/src/index.js';
import { createDataSource } from '../../libs/db/src/index.js';
import { createLogger } from '../../libs/logging/src/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const ADMIN = { email: 'admin@custodia.test', password: 'admin password 123' };

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
  token: string;
}

/** The assembled API on a database of its own, a temporary data folder and a captured log. */
export interface TestApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  /** The app's database; a query of custody_events or custody_nodes first waits for the log to settle (see logged). */
  db: TestDatabase;
  dataSource: DataSource;
  config: CustodiaConfig;
  /** Every log line written so far, as text. */
  logText(): string;
  /** Creates a user with the role and signs them in. */
  user(role: Role, name?: string): Promise<TestUser>;
  /** The API listening on a loopback port (for real clients); started on first call. */
  listen(): Promise<string>;
  /**
   * Another API instance on the same database and data folder, listening on its own port, as a
   * second server or a restarted one would be; `close` stops it (not the shared parts).
   */
  sibling(): Promise<{ app: NestExpressApplication; url: string; close(): Promise<void> }>;
  admin: TestUser;
  /**
   * Waits until the sequencer has integrated every custody event committed so far: what a test
   * does before it reads the log itself (integration follows the commit by design, custody.md).
   */
  logged(): Promise<void>;
  close(): Promise<void>;
}

/** Waits until nothing is queued for the custody log's sequencer, at most 10 s. */
export async function logSettled(query: (sql: string) => Promise<Record<string, unknown>[]>): Promise<void> {
  const deadline = Date.now() + 10_000;
  // As a receipt's waiter does: the elected sequencer integrates at once.
  await query(`SELECT pg_notify('custody_queue', '')`);
  for (;;) {
    const [row] = await query(`SELECT count(*)::int AS queued FROM custody_queue`);
    const queued = row!['queued'] as number;
    if (queued === 0) return;
    if (Date.now() > deadline) throw new Error(`${queued} custody events are still queued after 10 s: is a sequencer running?`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let counter = 0;

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-test-data-'));
  const config = loadConfig({ CUSTODIA_DATA_DIR: dataDir, DATABASE_URL: db.url, LOG_LEVEL: 'debug', CUSTODIA_CHECK_RESPONSES: 'true',
    // No scheduled fixity run (at a wall-clock slice boundary) adds events to a spec's items
    // behind its back; test/fixity.e2e.spec.ts turns it on and runs checks itself.
    CUSTODIA_FIXITY_ENABLED: 'false', ...env });
  const lines: string[] = [];
  const logger = createLogger(
    config.logLevel,
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const dataSource = createDataSource(db.appUrl, ENTITIES, { poolSize: 5 });
  await dataSource.initialize();
  const app = await createApp(config, dataSource, logger);
  const users = app.get(UsersService);
  await users.ensureFirstAdmin(ADMIN.email, ADMIN.password);
  const http = request(app.getHttpServer());

  const signIn = async (email: string, password: string): Promise<string> => {
    const res = await http.post('/api/v1/auth/login').send({ email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.accessToken;
  };
  const adminView = (await users.list())[0]!;
  const admin: TestUser = { id: adminView.id, email: ADMIN.email, password: ADMIN.password, role: 'admin', token: await signIn(ADMIN.email, ADMIN.password) };

  let listening: Promise<string> | undefined;
  const urlOf = (server: { address(): unknown }): string => `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  // A test that reads the log behind the API's back reads it settled: every event committed so
  // far integrated by the app's own sequencer (integration follows the commit, custody.md).
  const settledDb: TestDatabase = {
    ...db,
    async superuserQuery<T extends pg.QueryResultRow>(sql: string, params?: unknown[]) {
      if (/custody_(events|nodes)/.test(sql)) await logSettled((sql) => dataSource.query(sql));
      const rows = await db.superuserQuery<T>(sql, params);
      // A change to accounts or tokens behind the API's back reaches its token cache by
      // notification: the next request sees it once it has arrived.
      if (/\b(users|access_tokens)\b/.test(sql)) await app.get(TokenCache).sync();
      return rows;
    },
  };

  return {
    app,
    http,
    db: settledDb,
    dataSource,
    config,
    admin,
    logText: () => lines.join(''),
    logged: () => logSettled((sql) => dataSource.query(sql)),
    async user(role, name) {
      // Display names may hold spaces; an email may not (strict input refuses it at login).
      const email = `${(name ?? role).replace(/\s+/g, '.')}-${++counter}-${Date.now()}@custodia.test`;
      const password = `password for ${email}`;
      // As the first administrator would create them through POST /users.
      const created = await users.create({ email, password, displayName: name ?? `${role} ${counter}`, role }, { id: adminView.id, role: 'admin' });
      return { id: created.id, email, password, role, token: await signIn(email, password) };
    },
    listen() {
      listening ??= app.listen(0, '127.0.0.1').then((server) => urlOf(server));
      return listening;
    },
    async sibling() {
      const source = createDataSource(db.appUrl, ENTITIES, { poolSize: 5 });
      await source.initialize();
      const other = await createApp(config, source, logger);
      const server = await other.listen(0, '127.0.0.1');
      return {
        app: other,
        url: urlOf(server),
        async close() {
          await other.close();
          await source.destroy();
        },
      };
    },
    async close() {
      await app.close();
      await dataSource.destroy();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Checks an error answer is an RFC 9457 problem with the status, and returns its body. */
/**
 * An event's details without the nonce every event carries (custody-log `entriesOf`), which is
 * checked to be there: 128 random bits, base64url.
 */
export function detailsOf(event: { details: Record<string, unknown> }): Record<string, unknown> {
  const { nonce, ...details } = event.details;
  expect(nonce, 'the event has its nonce').toMatch(/^[A-Za-z0-9_-]{22}$/);
  return details;
}

export function expectProblem(res: request.Response, status: number): { detail: string; errors?: { field: string; message: string }[] } {
  if (res.status !== status) {
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body ?? res.text)}`);
  }
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${res.headers['content-type']}`);
  }
  const body = JSON.parse(res.text);
  for (const key of ['type', 'title', 'status', 'detail']) {
    if (!(key in body)) throw new Error(`problem lacks "${key}": ${res.text}`);
  }
  if (body.status !== status) throw new Error(`problem status ${body.status} != ${status}`);
  if (/at \S+ \(|\/work\/|node_modules|SELECT |INSERT /.test(res.text)) throw new Error(`problem leaks internals: ${res.text}`);
  return body;
}
