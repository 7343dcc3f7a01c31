import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '#custodia/config';
import { createLogger } from '#custodia/logging';
import { freePort, onDatabase, onServer, withDatabase } from '../../../test/support/postgres-server.js';
import { LOG_TABLES, scramVerifier } from './application-role.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { openDatabase, type OpenDatabase } from './open-database.js';

const logged = () => {
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
  return { logger, warnings: () => lines.filter((line) => line.includes('"level":40')).join('\n') };
};

/** What the archive's own sessions may do to the custody log, tried for real. */
async function tryOnLog(db: OpenDatabase): Promise<Record<string, string>> {
  const results: Record<string, string> = {};
  for (const sql of [
    ...LOG_TABLES.map((table) => `DROP TABLE ${table}`),
    `ALTER TABLE custody_events DISABLE TRIGGER USER`,
    `TRUNCATE custody_nodes`,
    `DELETE FROM custody_tree_heads`,
    `UPDATE custody_events SET action = action`,
  ]) {
    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(sql);
      results[sql] = 'done';
    } catch (error) {
      results[sql] = (error as Error).message;
    } finally {
      // Nothing tried here may stay, whatever it did.
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }
  return results;
}

const refusals = (results: Record<string, string>) => Object.values(results).every((message) => /must be owner|permission denied/.test(message));

describe("the archive's database role (custody.md: the application's role has no right to drop the log)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('with the embedded PostgreSQL, the app logs in as a role that may read and add to the log, nothing more', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-role-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { logger, warnings } = logged();
    const db = await openDatabase(loadConfig({ CUSTODIA_DATA_DIR: dir, CUSTODIA_EMBEDDED_PG_PORT: String(await freePort()) }), logger, []);
    cleanup.push(async () => {
      await db.close();
      if (db.embedded) await rm(db.embedded.clusterDir, { recursive: true, force: true });
    });
    const [session] = await db.dataSource.query(`SELECT current_user AS role, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`);
    expect(session).toEqual({ role: 'custodia_app', superuser: false });
    const privileges = await db.dataSource.query(
      `SELECT t AS "table", has_table_privilege(t, 'SELECT') AS "select", has_table_privilege(t, 'INSERT') AS "insert" FROM unnest($1::text[]) AS t`,
      [LOG_TABLES],
    );
    expect(privileges).toEqual(LOG_TABLES.map((table) => ({ table, select: true, insert: true })));
    const results = await tryOnLog(db);
    expect(refusals(results), JSON.stringify(results, null, 2)).toBe(true);
    expect(warnings()).toBe('');
  });

  it("makes the SCRAM-SHA-256 verifier PostgreSQL itself makes of a password (so the role's password is never sent)", async () => {
    const server = inject('pgServerUrl');
    const role = `custodia_t_scram_${randomBytes(4).toString('hex')}`;
    const password = "пароль з апострофом ' і пробілом";
    cleanup.push(() => onServer(server, [`DROP ROLE IF EXISTS ${role}`]));
    const [stored] = await onServer<{ rolpassword: string }>(
      server,
      [`SET password_encryption = 'scram-sha-256'`],
      [`CREATE ROLE ${role} PASSWORD '${password.replace(/'/g, "''")}'`],
      [`SELECT rolpassword FROM pg_authid WHERE rolname = '${role}'`],
    );
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored!.rolpassword)!;
    expect(scramVerifier(password, Buffer.from(salt!, 'base64'), Number(iterations))).toBe(stored!.rolpassword);
  });

  it('with DATABASE_URL alone, a role that can drop the log is named in a warning at start', async () => {
    const server = inject('pgServerUrl');
    const name = `custodia_t_role_${randomBytes(4).toString('hex')}`;
    await onServer(server, [`CREATE DATABASE ${name}`]);
    cleanup.push(() => onServer(server, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]));
    const { logger, warnings } = logged();
    const db = await openDatabase(loadConfig({ CUSTODIA_DATA_DIR: os.tmpdir(), DATABASE_URL: withDatabase(server, name) }), logger, []);
    await db.close();
    expect(warnings()).toMatch(/is a superuser: it could drop or rewrite the custody log.*CUSTODIA_MIGRATION_DATABASE_URL/);
  });

  it("with CUSTODIA_MIGRATION_DATABASE_URL, the owner migrates and DATABASE_URL's role gets the application's rights only", async () => {
    const server = inject('pgServerUrl');
    const name = `custodia_t_role_${randomBytes(4).toString('hex')}`;
    const role = `custodia_t_app_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await onServer(server, [`CREATE DATABASE ${name}`], [`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`], [`GRANT CREATE ON DATABASE ${name} TO ${role}`]);
    cleanup.push(() => onServer(server, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], [`DROP ROLE IF EXISTS ${role}`]));
    const app = new URL(withDatabase(server, name));
    app.username = role;
    app.password = password;
    const { logger, warnings } = logged();
    const config = loadConfig({ CUSTODIA_DATA_DIR: os.tmpdir(), DATABASE_URL: app.toString(), CUSTODIA_MIGRATION_DATABASE_URL: withDatabase(server, name) });
    const db = await openDatabase(config, logger, []);
    cleanup.push(() => db.close());
    const [session] = await db.dataSource.query(`SELECT current_user AS role`);
    expect(session).toEqual({ role });
    const [{ migrated }] = await db.dataSource.query(`SELECT count(*)::int AS migrated FROM migrations`);
    expect(migrated).toBeGreaterThan(10);
    const results = await tryOnLog(db);
    expect(refusals(results), JSON.stringify(results, null, 2)).toBe(true);
    expect(warnings()).toBe('');
    // A second start (new migrations, new tables) grants again, and still nothing more.
    await db.close();
    const again = await openDatabase(config, logger, []);
    cleanup.push(() => again.close());
    expect(refusals(await tryOnLog(again))).toBe(true);
  });

  it("sets the application role's password to DATABASE_URL's when the role refuses it (a rotation), once, and says so", async () => {
    // A server of its own that checks passwords (CI's PostgreSQL 15 trusts every login on loopback).
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-rotate-'));
    const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    cleanup.push(async () => {
      await server.stop();
      await rm(server.clusterDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    });
    const name = 'custodia_rotate';
    const role = 'custodia_rotated';
    await onServer(server.url, [`CREATE DATABASE ${name}`], [`CREATE ROLE ${role} LOGIN PASSWORD 'old-secret'`], [`GRANT CREATE ON DATABASE ${name} TO ${role}`]);
    const app = new URL(withDatabase(server.url, name));
    app.username = role;
    app.password = 'new secret, rotated';
    const config = loadConfig({ CUSTODIA_DATA_DIR: dir, DATABASE_URL: app.toString(), CUSTODIA_MIGRATION_DATABASE_URL: withDatabase(server.url, name) });
    const first = logged();
    const db = await openDatabase(config, first.logger, []);
    expect(await db.dataSource.query(`SELECT current_user AS role`)).toEqual([{ role }]);
    await db.close();
    expect(first.warnings()).toContain(`the role ${role} refused DATABASE_URL's password: set it to that one`);
    expect(first.warnings()).not.toContain('new secret');
    const old = new URL(app);
    old.password = 'old-secret';
    await expect(onDatabase(old.toString(), ['SELECT 1'])).rejects.toMatchObject({ code: '28P01' });
    // The next start finds it taken and changes nothing.
    const second = logged();
    await (await openDatabase(config, second.logger, [])).close();
    expect(second.warnings()).toBe('');
  });
});
