import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectProblem, startTestApp, type TestApp } from './support/app.js';

describe('accounts and access (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_LOGIN_MAX_FAILURES: '3' });
  });
  afterAll(async () => t?.close());

  describe('POST /auth/login', () => {
    it('signs the first administrator in and returns the documented shape', async () => {
      const res = await t.http.post('/api/v1/auth/login').send({ email: ADMIN.email.toUpperCase(), password: ADMIN.password });
      expect(res.status).toBe(200);
      expect(res.body.accessToken).toMatch(/^cst_/);
      expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
      expect(res.body.user).toEqual({ id: t.admin.id, email: ADMIN.email, displayName: 'Administrator', role: 'admin' });
      const me = await t.http.get('/api/v1/auth/me').auth(res.body.accessToken, { type: 'bearer' });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(t.admin.id);
    });

    it('answers 401 for a wrong password and for an unknown user alike', async () => {
      const wrong = expectProblem(await t.http.post('/api/v1/auth/login').send({ email: ADMIN.email, password: 'wrong password!!' }), 401);
      const unknown = expectProblem(await t.http.post('/api/v1/auth/login').send({ email: 'nobody@x.org', password: 'wrong password!!' }), 401);
      expect(wrong.detail).toBe(unknown.detail);
    });

    it('validates the body', async () => {
      const res = expectProblem(await t.http.post('/api/v1/auth/login').send({ email: 5 }), 400);
      expect(res.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['email', 'password']));
      const extra = expectProblem(await t.http.post('/api/v1/auth/login').send({ email: 'a@b.c', password: 'x', admin: true }), 400);
      expect(extra.errors?.map((e) => e.field)).toContain('admin');
    });

    it('rate limits repeated failures for an account with 429 and Retry-After, even with the right password', async () => {
      const victim = await t.user('investigator', 'victim');
      for (let i = 0; i < 3; i++) {
        expectProblem(await t.http.post('/api/v1/auth/login').send({ email: victim.email, password: 'guess number ' + i }), 401);
      }
      const limited = await t.http.post('/api/v1/auth/login').send({ email: victim.email, password: victim.password });
      expectProblem(limited, 429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Other accounts are still served (until this address sprays too many).
      const other = await t.user('auditor');
      expect((await t.http.post('/api/v1/auth/login').send({ email: other.email, password: other.password })).status).toBe(200);
    });

    it('takes about the same time for an unknown user as for a wrong password', async () => {
      const time = async (email: string) => {
        const started = process.hrtime.bigint();
        await t.http.post('/api/v1/auth/login').set('X-Forwarded-For', '10.9.9.9').send({ email, password: 'not the password' });
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const known = await t.user('documenter');
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const unknownTimes: number[] = [];
      const knownTimes: number[] = [];
      for (let i = 0; i < 2; i++) {
        unknownTimes.push(await time(`ghost${i}@nowhere.test`));
        knownTimes.push(await time(known.email));
      }
      // Both pay one argon2id verification (~tens of ms); without the dummy hash the unknown
      // case would be several times faster.
      expect(median(unknownTimes)).toBeGreaterThan(median(knownTimes) * 0.5);
    });
  });

  describe('bearer tokens', () => {
    it('401 without a token, with a malformed or unknown one', async () => {
      expectProblem(await t.http.get('/api/v1/cases'), 401);
      expectProblem(await t.http.get('/api/v1/cases').set('Authorization', 'Basic abc'), 401);
      expectProblem(await t.http.get('/api/v1/cases').auth('cst_' + 'A'.repeat(43), { type: 'bearer' }), 401);
      const res = await t.http.get('/api/v1/cases');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('API tokens are shown once, stored hashed, listed without the secret, and revocable', async () => {
      const documenter = await t.user('documenter');
      const created = await t.http
        .post('/api/v1/auth/tokens')
        .auth(documenter.token, { type: 'bearer' })
        .send({ name: 'Pixel 7, Kharkiv' });
      expect(created.status).toBe(201);
      expect(created.body.token).toMatch(/^cst_/);
      const stored = await t.db.superuserQuery(`SELECT encode(token_hash, 'hex') AS h FROM access_tokens WHERE id = $1`, [created.body.id]);
      expect(stored[0]!['h']).toHaveLength(64);
      const dump = JSON.stringify(await t.db.superuserQuery(`SELECT * FROM access_tokens`));
      expect(dump).not.toContain(created.body.token);

      const list = await t.http.get('/api/v1/auth/tokens').auth(documenter.token, { type: 'bearer' });
      expect(list.body).toHaveLength(1);
      expect(JSON.stringify(list.body)).not.toContain(created.body.token);

      expect((await t.http.get('/api/v1/cases').auth(created.body.token, { type: 'bearer' })).status).toBe(200);
      // Someone else cannot revoke it (and cannot learn it exists).
      const other = await t.user('documenter');
      expectProblem(await t.http.delete(`/api/v1/auth/tokens/${created.body.id}`).auth(other.token, { type: 'bearer' }), 404);
      expect((await t.http.delete(`/api/v1/auth/tokens/${created.body.id}`).auth(documenter.token, { type: 'bearer' })).status).toBe(204);
      expectProblem(await t.http.get('/api/v1/cases').auth(created.body.token, { type: 'bearer' }), 401);
    });

    it('an expired token is refused', async () => {
      const user = await t.user('investigator');
      const created = await t.http
        .post('/api/v1/auth/tokens')
        .auth(user.token, { type: 'bearer' })
        .send({ name: 'short-lived', expiresAt: new Date(Date.now() + 60_000).toISOString() });
      expect(created.status).toBe(201);
      await t.db.superuserQuery(`UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.body.id]);
      expectProblem(await t.http.get('/api/v1/cases').auth(created.body.token, { type: 'bearer' }), 401);
    });

    it('rejects an expiry in the past or not a date', async () => {
      const user = await t.user('investigator');
      const past = await t.http.post('/api/v1/auth/tokens').auth(user.token, { type: 'bearer' }).send({ name: 'x', expiresAt: '2001-01-01T00:00:00Z' });
      expect(expectProblem(past, 422).errors?.[0]?.field).toBe('expiresAt');
      const junk = await t.http.post('/api/v1/auth/tokens').auth(user.token, { type: 'bearer' }).send({ name: 'x', expiresAt: 'tomorrow' });
      expect(expectProblem(junk, 400).errors?.[0]?.field).toBe('expiresAt');
    });

    it('logout revokes the session token', async () => {
      const user = await t.user('auditor');
      expect((await t.http.post('/api/v1/auth/logout').auth(user.token, { type: 'bearer' })).status).toBe(204);
      expectProblem(await t.http.get('/api/v1/auth/me').auth(user.token, { type: 'bearer' }), 401);
    });
  });

  describe('users (admin only)', () => {
    it('an admin creates and lists users; password hashes never leave the server', async () => {
      const res = await t.http
        .post('/api/v1/users')
        .auth(t.admin.token, { type: 'bearer' })
        .send({ email: 'new.investigator@custodia.test', password: 'a long password here', displayName: 'New I.', role: 'investigator' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ email: 'new.investigator@custodia.test', role: 'investigator' });
      expect(res.body.passwordHash).toBeUndefined();
      const stored = await t.db.superuserQuery(`SELECT password_hash FROM users WHERE id = $1`, [res.body.id]);
      expect(String(stored[0]!['password_hash'])).toMatch(/^\$argon2id\$/);
      const list = await t.http.get('/api/v1/users').auth(t.admin.token, { type: 'bearer' });
      expect(list.status).toBe(200);
      expect(list.body.map((u: { email: string }) => u.email)).toContain('new.investigator@custodia.test');
      expect(JSON.stringify(list.body)).not.toContain('argon2');
    });

    it('refuses a duplicate email (any case) with 409, a short password or unknown role with 400', async () => {
      const dup = await t.http
        .post('/api/v1/users')
        .auth(t.admin.token, { type: 'bearer' })
        .send({ email: ADMIN.email.toUpperCase(), password: 'a long password here', displayName: 'Dup', role: 'auditor' });
      expectProblem(dup, 409);
      const bad = await t.http
        .post('/api/v1/users')
        .auth(t.admin.token, { type: 'bearer' })
        .send({ email: 'not-an-email', password: 'short', displayName: '', role: 'superuser' });
      const fields = expectProblem(bad, 400).errors!.map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['email', 'password', 'displayName', 'role']));
      const count = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM users WHERE email = 'not-an-email'`);
      expect(count[0]!['n']).toBe(0);
    });

    it.each(['investigator', 'documenter', 'auditor'] as const)('a %s gets 403 on /users', async (role) => {
      const user = await t.user(role);
      expectProblem(await t.http.get('/api/v1/users').auth(user.token, { type: 'bearer' }), 403);
      const create = await t.http
        .post('/api/v1/users')
        .auth(user.token, { type: 'bearer' })
        .send({ email: `sneaky-${role}@x.test`, password: 'a long password here', displayName: 'S', role: 'admin' });
      expectProblem(create, 403);
    });
  });

  it('the log of a login holds neither the password nor the token', async () => {
    const before = t.logText().length;
    const user = await t.user('investigator', 'logcheck');
    const res = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expect(res.status).toBe(200);
    await t.http.get('/api/v1/cases').auth(res.body.accessToken, { type: 'bearer' });
    await t.http.post('/api/v1/auth/login').send({ email: user.email, password: 'wrong ' + user.password });
    const log = t.logText().slice(before);
    expect(log).toContain('/api/v1/auth/login');
    expect(log).not.toContain(user.password);
    expect(log).not.toContain(res.body.accessToken);
    expect(log).not.toContain(user.token);
    expect(log.toLowerCase()).not.toContain('authorization');
  });
});
