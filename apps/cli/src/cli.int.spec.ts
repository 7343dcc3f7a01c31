import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '#custodia/auth';
import { createLogger } from '#custodia/logging';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { runCli } from './cli.js';

describe('custodia CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const run = async (argv: string[], env: Record<string, string> = {}, stdin = '') => {
    let out = '';
    let err = '';
    const code = await runCli(argv, {
      env: { DATABASE_URL: db.url, ...env },
      stdout: (text) => (out += text),
      stderr: (text) => (err += text),
      readStdin: async () => stdin,
      logger: createLogger('silent'),
    });
    return { code, out, err };
  };

  it('creates a user with the password from stdin, stored with argon2id', async () => {
    const res = await run(['user', 'create', '--email', 'cli@custodia.test', '--role', 'investigator', '--password-stdin'], {}, 'a password from stdin\n');
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/Created investigator cli@custodia.test/);
    const [row] = await db.superuserQuery(`SELECT role, password_hash FROM users WHERE email = 'cli@custodia.test'`);
    expect(row!['role']).toBe('investigator');
    expect(await verifyPassword(String(row!['password_hash']), 'a password from stdin')).toBe(true);
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
  });
});
