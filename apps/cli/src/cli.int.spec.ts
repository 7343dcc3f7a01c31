import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyPassword } from '#custodia/auth';
import { CustodyLog, SigningKeys, TreeHeads } from '#custodia/custody';
import { createDataSource } from '#custodia/db';
import { TimestampAuthority } from '#custodia/timestamp';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { onDatabase, onServer, withDatabase } from '../../../test/support/postgres-server.js';
import { archiveSettings, runCliWith } from './test-support/run-cli.js';

describe('custodia CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const run = (argv: string[], env: Record<string, string> = {}, stdin = '') => runCliWith({ DATABASE_URL: db.url, ...env }, argv, { stdin });

  it('creates a user with the password from stdin, stored with argon2id', async () => {
    const res = await run(['user', 'create', '--email', 'cli@custodia.test', '--role', 'investigator', '--password-stdin'], {}, 'a password from stdin\n');
    expect(res.err).toMatch(/^Archive: postgres:\/\/[^\n]*\n$/);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/Created investigator cli@custodia.test/);
    const [row] = await db.superuserQuery(`SELECT role, password_hash FROM users WHERE email = 'cli@custodia.test'`);
    expect(row!['role']).toBe('investigator');
    expect(await verifyPassword(String(row!['password_hash']), 'a password from stdin')).toBe(true);
  });

  it('records the new account as the system event user.created, by the system for the CLI, without the email', async () => {
    const res = await run(['user', 'create', '--email', 'logged@custodia.test', '--role', 'auditor'], { CUSTODIA_NEW_USER_PASSWORD: 'long enough password' });
    expect(res.code).toBe(0);
    const [user] = await db.superuserQuery<{ id: string }>(`SELECT id FROM users WHERE email = 'logged@custodia.test'`);
    const events = await db.superuserQuery<{ event: string; actor_id: string | null; case_id: string | null }>(
      `SELECT convert_from(event_bytes, 'UTF8') AS event, actor_id, case_id FROM custody_events WHERE subject_type = 'user' AND subject_id = $1`,
      [user!.id],
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.actor_id).toBeNull();
    expect(events[0]!.case_id).toBeNull();
    expect(JSON.parse(events[0]!.event)).toMatchObject({
      action: 'user.created',
      actor: { id: 'system', role: 'system' },
      caseId: null,
      subject: { type: 'user', id: user!.id },
      details: { role: 'auditor', mustChange: false, via: 'cli' },
    });
    expect(events[0]!.event).not.toContain('logged@custodia.test');
  });

  it('refuses a duplicate, a bad role, a short password and an unknown command, with exit codes', async () => {
    const env = { CUSTODIA_NEW_USER_PASSWORD: 'long enough password' };
    expect((await run(['user', 'create', '--email', 'CLI@custodia.test', '--role', 'auditor'], env)).code).toBe(1);
    expect((await run(['user', 'create', '--email', 'x@custodia.test', '--role', 'king'], env)).code).toBe(2);
    expect((await run(['user', 'create', '--email', 'x@custodia.test', '--role', 'auditor'], { CUSTODIA_NEW_USER_PASSWORD: 'short' })).code).toBe(2);
    expect((await run(['user', 'delete'])).code).toBe(2);
    expect((await run(['user', 'create', '--email', 'x@custodia.test', '--role', 'auditor'], { ...env, PORT: 'x' })).code).toBe(2);
    const rows = await db.superuserQuery(`SELECT 1 FROM users WHERE email = 'x@custodia.test'`);
    expect(rows).toHaveLength(0);
    // A refused account leaves no event either (the duplicate's transaction rolled back).
    const created = await db.superuserQuery(`SELECT 1 FROM custody_events WHERE action = 'user.created'`);
    const users = await db.superuserQuery(`SELECT 1 FROM users`);
    expect(created).toHaveLength(users.length);
  });
});

describe('custodia log verify and key rotate', () => {
  let db: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    const { mkdtemp } = await import('node:fs/promises');
    dataDir = await mkdtemp((await import('node:os')).tmpdir() + '/custodia-cli-');
  });
  afterAll(async () => db?.drop());

  const run = (argv: string[]) => runCliWith(archiveSettings(db.url, dataDir), argv);

  it('reports an intact log, then the first divergence after a row is altered behind the trigger', async () => {
    const ds = createDataSource(db.url, []);
    await ds.initialize();
    const log = new CustodyLog(ds);
    const heads = new TreeHeads(ds, new SigningKeys(ds, Buffer.from('cd'.repeat(32), 'hex')));
    const caseId = '7d8e2f8c-43a7-4bb1-9d34-3f2cf0e3c001';
    for (let n = 0; n < 12; n++) {
      await ds.transaction((tx) =>
        log.append(tx, { action: 'case.member_added', actor: { id: caseId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId }, details: { n } }),
      );
      if (n % 5 === 0) await heads.publish();
    }
    await heads.publish();
    await ds.destroy();

    const intact = await run(['log', 'verify']);
    expect(intact.err).toMatch(/^Archive: postgres:\/\/.* with data folder .* \(settings from the environment\)\n$/);
    expect(intact.out).toMatch(/Replayed 12 events/);
    expect(intact.out).toMatch(/INTACT/);
    expect(intact.code).toBe(0);

    await db.superuserQuery(`
      BEGIN;
      ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only;
      UPDATE custody_events SET actor_id = '00000000-0000-4000-8000-000000000000' WHERE leaf_index = 4;
      ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only;
      COMMIT;`);
    const tampered = await run(['log', 'verify']);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toMatch(/DIVERGED at leaf 4: the indexed columns disagree/);
  });

  it('rotates the signing key and keeps the old one published', async () => {
    const first = await run(['key', 'rotate']);
    expect(first.code).toBe(0);
    const rows = await db.superuserQuery(`SELECT key_id, active_to FROM custody_signing_keys ORDER BY active_from`);
    expect(rows.length).toBe(2);
    expect(rows[0]!['active_to']).not.toBeNull();
    expect(rows[1]!['active_to']).toBeNull();
    expect(first.out).toContain(String(rows[1]!['key_id']));
    expect(first.out).toContain('signed its handover');
    // The handover is kept: the retired key's head over the rotation.
    const [handover] = await db.superuserQuery(`SELECT key_id, next_key_id FROM custody_key_handovers`);
    expect(handover).toEqual({ key_id: rows[0]!['key_id'], next_key_id: rows[1]!['key_id'] });
  });

  it('rotates a leaked key as compromised, marks a retired one, and refuses what is not a key id', async () => {
    const leaked = await run(['key', 'rotate', '--compromised', '--reason', 'laptop seized at a checkpoint']);
    expect(leaked.code).toBe(0);
    expect(leaked.out).toMatch(/previous key is marked compromised and signed no handover/);
    const keys = async () => db.superuserQuery(`SELECT key_id, active_to, compromised_at FROM custody_signing_keys ORDER BY active_from`);
    const [, second, third] = await keys();
    expect(second!['compromised_at']).not.toBeNull();
    expect(third!['compromised_at']).toBeNull();
    expect(await db.superuserQuery(`SELECT 1 FROM custody_key_handovers WHERE key_id = $1`, [second!['key_id']])).toHaveLength(0);

    // The first key handed over before it was found to have leaked: marked after the fact.
    const [first] = await keys();
    const marked = await run(['key', 'compromised', String(first!['key_id']), '--reason', 'found in an old backup']);
    expect(marked.code).toBe(0);
    expect(marked.out).toContain(`Key ${String(first!['key_id'])} is now marked compromised`);
    expect(marked.out).toContain(`signs with key ${String(third!['key_id'])}`);
    expect((await run(['key', 'compromised', String(first!['key_id'])])).out).toContain('was already marked compromised');
    const events = await db.superuserQuery(
      `SELECT convert_from(event_bytes, 'UTF8')::jsonb AS event FROM custody_events WHERE action = 'key.compromised' ORDER BY leaf_index`,
    );
    expect(events.map((row) => [row['event'].subject.id, row['event'].reason])).toEqual([
      [second!['key_id'], 'laptop seized at a checkpoint'],
      [first!['key_id'], 'found in an old backup'],
    ]);

    for (const argv of [['key', 'compromised'], ['key', 'compromised', 'abc'], ['key', 'compromised', 'f'.repeat(64)], ['key', 'rotate', '--compromise']]) {
      const refused = await run(argv);
      expect(refused.code, argv.join(' ')).toBe(2);
      expect(refused.err, argv.join(' ')).not.toMatch(/\n\s+at /);
    }
  });
});

describe('custodia log verify --tsa-cert', () => {
  it("verifies every head's RFC 3161 token (given at signing or later) and its chain, and reports a token moved to another head", async () => {
    const { startLocalTsa } = await import('../../../test/support/tsa/local-tsa.js');
    const db = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-cli-tsa-'));
    const [tsa, otherTsa] = await Promise.all([startLocalTsa(), startLocalTsa()]);
    const run = (argv: string[]) => runCliWith(archiveSettings(db.url, dataDir), argv);
    try {
      const ds = createDataSource(db.url, []);
      await ds.initialize();
      const log = new CustodyLog(ds);
      const keys = new SigningKeys(ds, Buffer.from('cd'.repeat(32), 'hex'));
      const stamped = new TreeHeads(ds, keys, () => undefined, new TimestampAuthority(tsa.url));
      const down = new TreeHeads(ds, keys, () => undefined, new TimestampAuthority('http://127.0.0.1:9/tsr', { timeoutMs: 500 }));
      const caseId = '7d8e2f8c-43a7-4bb1-9d34-3f2cf0e3c002';
      const append = (n: number) =>
        ds.transaction((tx) => log.append(tx, { action: 'case.member_added', actor: { id: caseId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId }, details: { n } }));
      const noneYet = await run(['log', 'verify', '--tsa-cert', tsa.caPem]);
      expect(noneYet.code, noneYet.err).toBe(0);
      expect(noneYet.out).toContain('No head carries an RFC 3161 time-stamp token: --tsa-cert had nothing to check.');
      await append(0);
      await stamped.publish();
      await append(1);
      await down.publish();
      await append(2);
      await stamped.stampLate(await down.publish());
      await append(3);
      await down.publish();
      await ds.destroy();

      const unchecked = await run(['log', 'verify']);
      expect(unchecked.code, unchecked.err).toBe(0);
      expect(unchecked.out).toContain('2 heads carry an RFC 3161 time-stamp token; not checked (give --tsa-cert');
      const checked = await run(['log', 'verify', '--tsa-cert', tsa.caPem]);
      expect(checked.code, checked.err).toBe(0);
      expect(checked.out).toContain('Verified 2 of 2 RFC 3161 time-stamp tokens');
      expect(checked.out).toContain('INTACT');

      const otherRoot = await run(['log', 'verify', '--tsa-cert', otherTsa.caPem]);
      expect(otherRoot.code).toBe(1);
      expect(otherRoot.out).toMatch(/DIVERGED at the head of size 1: the head's RFC 3161 time-stamp token does not verify: .*does not lead to any of the trusted certificates/);
      expect(otherRoot.out).not.toContain('Verified');
      const notPem = await run(['log', 'verify', '--tsa-cert', path.join(tsa.dir, 'serial')]);
      expect(notPem.code).toBe(2);
      expect(notPem.err).toMatch(/--tsa-cert .*serial: trusted certificate 1 cannot be read: it holds no "BEGIN CERTIFICATE" block/);

      // The late token moved onto the first head: a genuine token, over another head's bytes.
      await db.superuserQuery(`
        BEGIN;
        ALTER TABLE custody_tree_heads DISABLE TRIGGER custody_tree_heads_append_only;
        UPDATE custody_tree_heads SET tsa_token = (SELECT tsa_token FROM custody_head_timestamps WHERE tree_size = 3) WHERE tree_size = 1;
        ALTER TABLE custody_tree_heads ENABLE TRIGGER custody_tree_heads_append_only;
        COMMIT;`);
      const moved = await run(['log', 'verify', '--tsa-cert', tsa.caPem]);
      expect(moved.code).toBe(1);
      expect(moved.out).toMatch(/DIVERGED at the head of size 1: the head's RFC 3161 time-stamp token does not verify: the token time-stamps other data/);
      // Without the authority's certificate, tokens are not read: the log itself is intact.
      expect((await run(['log', 'verify'])).code).toBe(0);
    } finally {
      await Promise.all([tsa.close(), otherTsa.close(), db.drop(), rm(dataDir, { recursive: true, force: true })]);
    }
  });
});

describe('the CLI never guesses which archive', () => {
  let db: TestDatabase;
  let cwd: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    cwd = await mkdtemp(path.join(os.tmpdir(), 'custodia-cli-cwd-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  const run = (argv: string[], env: Record<string, string>) => runCliWith(env, argv, { cwd, stdin: 'a long enough password\n' });

  it('refuses a data folder that holds no archive, and creates none there', async () => {
    const missing = path.join(cwd, 'not-the-servers-data');
    const res = await run(['user', 'create', '--email', 'x@ngo.org', '--role', 'auditor', '--password-stdin'], { CUSTODIA_DATA_DIR: missing });
    expect(res.code).toBe(1);
    expect(res.err).toContain(`Archive: ${missing} (embedded PostgreSQL`);
    expect(res.err).toMatch(/No archive in .*not-the-servers-data.*pass --init/);
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a database that holds no archive unless told to --init one', async () => {
    const empty = `custodia_empty_${process.pid}_${Date.now()}`;
    const serverUrl = inject('pgServerUrl');
    await onServer(serverUrl, [`CREATE DATABASE ${empty}`]);
    try {
      const env = { DATABASE_URL: withDatabase(serverUrl, empty), CUSTODIA_DATA_DIR: cwd, CUSTODIA_MASTER_KEY: 'ab'.repeat(32) };
      const refused = await run(['log', 'verify'], env);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/No archive at DATABASE_URL/);
      // In that database itself (onServer talks to the server's `postgres` database).
      expect(await onDatabase(withDatabase(serverUrl, empty), [`SELECT to_regclass('public.migrations') IS NOT NULL AS found`])).toEqual([{ found: false }]);
      const created = await run(['--init', 'log', 'verify'], env);
      expect(created.code, created.err).toBe(0);
      expect(created.out).toMatch(/Replayed 0 events/);
    } finally {
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${empty} WITH (FORCE)`]);
    }
  });

  it('db migrate: the owner migrates and grants, so instances run with the application role alone', async () => {
    const serverUrl = inject('pgServerUrl');
    const name = `custodia_t_migrate_${process.pid}_${Date.now()}`;
    const role = `custodia_t_app_${process.pid}`;
    await onServer(serverUrl, [`CREATE DATABASE ${name}`], [`DROP ROLE IF EXISTS ${role}`], [`CREATE ROLE ${role} LOGIN PASSWORD 'app-secret'`], [`GRANT CREATE ON DATABASE ${name} TO ${role}`]);
    try {
      const app = new URL(withDatabase(serverUrl, name));
      app.username = role;
      app.password = 'app-secret';
      const alone = { DATABASE_URL: app.toString(), CUSTODIA_DATA_DIR: cwd, CUSTODIA_MASTER_KEY: 'ab'.repeat(32) };
      const env = { ...alone, CUSTODIA_MIGRATION_DATABASE_URL: withDatabase(serverUrl, name) };
      // The application role alone cannot make the schema, and is told what to run.
      const unmigrated = await run(['--init', 'log', 'verify'], alone);
      expect(unmigrated.code).toBe(1);
      expect(unmigrated.err).toMatch(/permission denied .*`custodia db migrate` run first/);
      for (let run_ = 0; run_ < 2; run_++) {
        const migrated = await run(['db', 'migrate'], env);
        expect(migrated.code, migrated.err).toBe(0);
        expect(migrated.out).toMatch(new RegExp(`^The schema is up to date \\(\\d+ migrations applied\\); ${role} has the application's rights\\.\\n$`));
      }
      const [{ owner }] = await onDatabase<{ owner: string }>(withDatabase(serverUrl, name), [`SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'custody_events'`]);
      expect(owner).not.toBe(role);
      // An instance given DATABASE_URL alone works, and cannot drop the log.
      const verified = await run(['log', 'verify'], alone);
      expect(verified.code, verified.err).toBe(0);
      await expect(onDatabase(app.toString(), ['DROP TABLE custody_events'])).rejects.toThrow(/must be owner/);
    } finally {
      await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], [`DROP ROLE IF EXISTS ${role}`]);
    }
  });

  it("reads the server's settings from .env (or CUSTODIA_ENV_FILE), the environment winning", async () => {
    await writeFile(path.join(cwd, '.env'), `DATABASE_URL=${db.url}\nCUSTODIA_DATA_DIR=${cwd}\nCUSTODIA_MASTER_KEY=${'ef'.repeat(32)}\n`);
    const fromFile = await run(['log', 'verify'], {});
    expect(fromFile.code, fromFile.err).toBe(0);
    expect(fromFile.err).toContain(`settings from ${path.join(cwd, '.env')} and the environment`);
    const overridden = await run(['log', 'verify'], { DATABASE_URL: withDatabase(inject('pgServerUrl'), 'no_such_database_here') });
    expect(overridden.code).toBe(1);
    const named = await run(['log', 'verify'], { CUSTODIA_ENV_FILE: 'missing.env' });
    expect(named.code).toBe(2);
    expect(named.err).toMatch(/CUSTODIA_ENV_FILE names .*missing\.env, which does not exist/);
  });
});
