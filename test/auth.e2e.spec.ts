import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectProblem, startTestApp, type TestApp } from './support/app.js';

describe('accounts and access (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // 3 free failures per account and address, 12 per address; X-Forwarded-For names the address.
    t = await startTestApp({ CUSTODIA_LOGIN_MAX_FAILURES: '3', CUSTODIA_TRUST_PROXY: 'true' });
  });
  afterAll(async () => t?.close());

  describe('POST /auth/login', () => {
    it('signs the first administrator in and returns the documented shape', async () => {
      const res = await t.http.post('/api/v1/auth/login').send({ email: ADMIN.email.toUpperCase(), password: ADMIN.password });
      expect(res.status).toBe(200);
      expect(res.body.accessToken).toMatch(/^cst_/);
      expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
      expect(res.body.user).toEqual({ id: t.admin.id, email: ADMIN.email, displayName: 'Administrator', role: 'admin', mustChangePassword: false, language: null });
      const me = await t.http.get('/api/v1/auth/me').auth(res.body.accessToken, { type: 'bearer' });
      expect(me.status).toBe(200);
      expect(me.body).toEqual(res.body.user);
    });

    it("remembers the caller's console language (PATCH /auth/me) for their next sign-in, and refuses other languages", async () => {
      const user = await t.user('documenter');
      const bearerOf = (token: string) => ({ Authorization: `Bearer ${token}` });
      expect((await t.http.patch('/api/v1/auth/me').set(bearerOf(user.token)).send({ language: 'en' })).status).toBe(204);
      expect((await t.http.get('/api/v1/auth/me').set(bearerOf(user.token))).body.language).toBe('en');
      const again = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
      expect(again.body.user.language).toBe('en');
      const refused = expectProblem(await t.http.patch('/api/v1/auth/me').set(bearerOf(user.token)).send({ language: 'ru' }), 400);
      expect(refused.errors!.map((e: { field: string }) => e.field)).toEqual(['language']);
      expectProblem(await t.http.patch('/api/v1/auth/me').set(bearerOf(user.token)).send({ language: 'uk', role: 'admin' }), 400);
      expect((await t.http.get('/api/v1/auth/me').set(bearerOf(user.token))).body).toMatchObject({ language: 'en', role: 'documenter' });
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

    it('slows repeated failures for an account from that address with 429 and Retry-After, even with the right password', async () => {
      const victim = await t.user('investigator', 'victim');
      for (let i = 0; i < 3; i++) {
        expectProblem(await t.http.post('/api/v1/auth/login').send({ email: victim.email, password: 'guess number ' + i }), 401);
      }
      const limited = await t.http.post('/api/v1/auth/login').send({ email: victim.email, password: victim.password });
      expectProblem(limited, 429);
      expect(Number(limited.headers['retry-after'])).toBe(1);
      // Other accounts are still served from that address (until it sprays too many).
      const other = await t.user('auditor');
      expect((await t.http.post('/api/v1/auth/login').send({ email: other.email, password: other.password })).status).toBe(200);
    });

    it('does the same work for an unknown user as for a wrong password (no account enumeration by timing)', async () => {
      // CPU time of this process (the API runs in it; argon2 works on libuv's threads, which
      // count too), not wall time: the work is the secret, and a loaded machine stretches wall
      // time at random.
      let attempt = 0;
      const cpu = async (email: string, status: number) => {
        // Each from an address of its own: the progressive slowdown would refuse repeats
        // before any password is checked.
        const before = process.cpuUsage();
        const res = await t.http.post('/api/v1/auth/login').set('X-Forwarded-For', `10.9.${++attempt}.1`).send({ email, password: 'not the password' });
        const used = process.cpuUsage(before);
        expect(res.status).toBe(status);
        return used.user + used.system;
      };
      const known = await t.user('documenter');
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const samples = { unknown: [] as number[], known: [] as number[], refused: [] as number[] };
      for (let i = 0; i < 7; i++) {
        samples.unknown.push(await cpu(`ghost${i}@nowhere.test`, 401));
        samples.known.push(await cpu(known.email, 401));
        // Refused as malformed before any lookup: the request's cost without a verification.
        samples.refused.push(await cpu('not an address', 400));
      }
      const base = median(samples.refused);
      // Both pay one argon2id verification above that; without the dummy hash the unknown case
      // would pay none.
      expect(median(samples.unknown) - base).toBeGreaterThan((median(samples.known) - base) * 0.6);
    });
  });

  describe('progressive slowdown instead of lockout', () => {
    const loginFrom = (address: string, email: string, password: string) =>
      t.http.post('/api/v1/auth/login').set('X-Forwarded-For', address).send({ email, password });
    /** Moves the pair's failures back in time, as if `seconds` had passed. */
    const age = (email: string, address: string, seconds: number) =>
      t.db.superuserQuery(`UPDATE login_failures SET at = at - make_interval(secs => $3) WHERE email_key = $1 AND client_ip = $2`, [
        email.toLowerCase(),
        address,
        seconds,
      ]);

    it('a stranger guessing five times from one address slows only that address; the owner signs in at once from another', async () => {
      const owner = await t.user('documenter', 'field-documenter');
      const stranger = '203.0.113.7';
      for (let i = 0; i < 3; i++) expectProblem(await loginFrom(stranger, owner.email, `wrong guess ${i}`), 401);
      // From the fourth attempt on, each waits: 1 s, then 2 s, 4 s... after the last failure.
      const waits: number[] = [];
      for (let i = 3; i < 6; i++) {
        const slowed = await loginFrom(stranger, owner.email, `wrong guess ${i}`);
        expectProblem(slowed, 429);
        waits.push(Number(slowed.headers['retry-after']));
        if (i === 3) await new Promise((resolve) => setTimeout(resolve, 1100)); // one real wait
        else await age(owner.email, stranger, waits.at(-1)!);
        expectProblem(await loginFrom(stranger, owner.email, `wrong guess ${i}`), 401);
      }
      expect(waits).toEqual([1, 2, 4]);
      // Five wrong guesses (six here) and the right password from the stranger's address is still slowed...
      const blocked = await loginFrom(stranger, owner.email, owner.password);
      expectProblem(blocked, 429);
      expect(Number(blocked.headers['retry-after'])).toBe(8);
      // ...but the owner, from their own address, is not locked out.
      const own = await loginFrom('198.51.100.23', owner.email, owner.password);
      expect(own.status).toBe(200);
      expect(own.body.user.id).toBe(owner.id);
      // The owner's success clears only their own pair: the stranger still waits.
      expectProblem(await loginFrom(stranger, owner.email, 'yet another guess'), 429);
    });

    it('counts the address the proxy saw, not one the client wrote into X-Forwarded-For itself', async () => {
      const owner = await t.user('documenter');
      // The proxy appends the address it saw to whatever the client sent: a guesser who makes up a
      // new first entry each time is still the same last one.
      for (let i = 0; i < 3; i++) expectProblem(await loginFrom(`10.66.${i}.1, 203.0.113.44`, owner.email, `wrong ${i}`), 401);
      expectProblem(await loginFrom('10.66.99.1, 203.0.113.44', owner.email, 'wrong again'), 429);
      expect((await loginFrom('198.51.100.44', owner.email, owner.password)).status).toBe(200);
    });

    it('the wait is capped at CUSTODIA_LOGIN_WINDOW_S (15 minutes by default)', async () => {
      const owner = await t.user('documenter');
      const address = '203.0.113.8';
      for (let i = 0; i < 3; i++) expectProblem(await loginFrom(address, owner.email, `wrong ${i}`), 401);
      await t.db.superuserQuery(
        `INSERT INTO login_failures (email_key, client_ip, at) SELECT $1, $2, now() - interval '16 minutes' FROM generate_series(1, 20)`,
        [owner.email.toLowerCase(), address],
      );
      const capped = await loginFrom(address, owner.email, owner.password);
      expectProblem(capped, 429);
      expect(Number(capped.headers['retry-after'])).toBe(900);
    });

    it('a success clears that pair\'s failures', async () => {
      const owner = await t.user('investigator');
      const address = '203.0.113.9';
      for (let i = 0; i < 2; i++) expectProblem(await loginFrom(address, owner.email, `typo ${i}`), 401);
      expect((await loginFrom(address, owner.email, owner.password)).status).toBe(200);
      for (let i = 0; i < 3; i++) expectProblem(await loginFrom(address, owner.email, `typo again ${i}`), 401);
      expectProblem(await loginFrom(address, owner.email, owner.password), 429);
    });

    it('parallel logins with the right password all get in; parallel guesses get no more tries than sequential ones', async () => {
      const owner = await t.user('investigator', 'many tabs');
      const address = '203.0.113.60';
      // Ten at once, more than the three free failures: each waits for the ones ahead of it to settle.
      const rightOnes = await Promise.all(Array.from({ length: 10 }, () => loginFrom(address, owner.email, owner.password)));
      expect(rightOnes.map((res) => res.status)).toEqual(rightOnes.map(() => 200));
      // Ten wrong guesses at once: three are checked (401), the rest refused before any check.
      const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) => loginFrom(address, owner.email, `parallel guess ${i}`)));
      const statuses = guesses.map((res) => res.status).sort();
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
      expectProblem(await loginFrom(address, owner.email, owner.password), 429);
    });

    it('an attempt whose process died before it settled counts as a failure a minute later', async () => {
      const owner = await t.user('investigator', 'crashed attempts');
      const address = '203.0.113.61';
      // Ten guesses left pending 61 s ago: as failures, they make the pair wait 2^7 s from then.
      await t.db.superuserQuery(
        `INSERT INTO login_failures (email_key, client_ip, at, settled) SELECT $1, $2, clock_timestamp() - interval '61 seconds', false FROM generate_series(1, 10)`,
        [owner.email.toLowerCase(), address],
      );
      const slowed = await loginFrom(address, owner.email, owner.password);
      expectProblem(slowed, 429);
      expect(Number(slowed.headers['retry-after'])).toBe(128 - 61);
      // Pending for less than that, they are waited for (ten seconds at most), then refused.
      const other = await t.user('investigator', 'slow attempts');
      await t.db.superuserQuery(
        `INSERT INTO login_failures (email_key, client_ip, at, settled) SELECT $1, $2, clock_timestamp(), false FROM generate_series(1, 3)`,
        [other.email.toLowerCase(), '203.0.113.62'],
      );
      const started = Date.now();
      const waited = await loginFrom('203.0.113.62', other.email, other.password);
      expectProblem(waited, 429);
      expect(Date.now() - started).toBeGreaterThan(9_000);
    }, 30_000);

    it('one address spraying a password over many accounts is capped (4x the per-account number)', async () => {
      const sprayer = '192.0.2.66';
      for (let i = 0; i < 12; i++) expectProblem(await loginFrom(sprayer, `sprayed-${i}@custodia.test`, 'Summer2026!!'), 401);
      const target = await t.user('auditor');
      const capped = await loginFrom(sprayer, target.email, target.password);
      expectProblem(capped, 429);
      expect(Number(capped.headers['retry-after'])).toBeGreaterThan(800);
      expect((await loginFrom('192.0.2.67', target.email, target.password)).status).toBe(200);
    });
  });

  describe('POST /auth/password (self)', () => {
    const change = (token: string, body: object, address = '10.1.1.1') =>
      t.http.post('/api/v1/auth/password').set('X-Forwarded-For', address).auth(token, { type: 'bearer' }).send(body);

    it('changes the password; other sessions end, the calling one and device tokens stay', async () => {
      const user = await t.user('documenter');
      const other = (await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password })).body.accessToken;
      const phone = (await t.http.post('/api/v1/auth/tokens').auth(user.token, { type: 'bearer' }).send({ name: 'phone' })).body.token;
      expect((await change(user.token, { currentPassword: user.password, newPassword: 'a brand new passphrase' })).status).toBe(204);
      expect((await t.http.get('/api/v1/cases').auth(user.token, { type: 'bearer' })).status).toBe(200);
      expect((await t.http.get('/api/v1/cases').auth(phone, { type: 'bearer' })).status).toBe(200);
      expectProblem(await t.http.get('/api/v1/cases').auth(other, { type: 'bearer' }), 401);
      expectProblem(await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }), 401);
      expect((await t.http.post('/api/v1/auth/login').send({ email: user.email, password: 'a brand new passphrase' })).status).toBe(200);
      const [event] = await t.db.superuserQuery<{ event: string }>(
        `SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE subject_id = $1 AND action <> 'user.created'`,
        [user.id],
      );
      expect(JSON.parse(event!.event)).toMatchObject({
        action: 'user.password_set',
        actor: { id: user.id, role: 'documenter' },
        caseId: null,
        subject: { type: 'user', id: user.id },
        details: { by: 'self', mustChange: false, sessionsEnded: 1 },
      });
      expect(event!.event).not.toContain('passphrase');
    });

    it('a wrong current password is 422 naming currentPassword, and is slowed like a failed login', async () => {
      const user = await t.user('auditor');
      for (let i = 0; i < 3; i++) {
        const wrong = await change(user.token, { currentPassword: `not it ${i}`, newPassword: 'a brand new passphrase' }, '10.1.1.2');
        expect(expectProblem(wrong, 422).errors?.map((e) => e.field)).toEqual(['currentPassword']);
      }
      expectProblem(await change(user.token, { currentPassword: user.password, newPassword: 'a brand new passphrase' }, '10.1.1.2'), 429);
      expect((await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password })).status).toBe(200);
    });

    it('validates the body: a short or unchanged new password, unknown fields, no token', async () => {
      const user = await t.user('investigator');
      const short = await change(user.token, { currentPassword: user.password, newPassword: 'short' });
      expect(expectProblem(short, 400).errors?.map((e) => e.field)).toEqual(['newPassword']);
      const extra = await change(user.token, { currentPassword: user.password, newPassword: 'long enough here', userId: t.admin.id });
      expect(expectProblem(extra, 400).errors?.map((e) => e.field)).toEqual(['userId']);
      const missing = await change(user.token, {});
      expect(expectProblem(missing, 400).errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['currentPassword', 'newPassword']));
      const same = await change(user.token, { currentPassword: user.password, newPassword: user.password });
      expect(expectProblem(same, 422).errors?.map((e) => e.field)).toEqual(['newPassword']);
      expectProblem(await t.http.post('/api/v1/auth/password').send({ currentPassword: 'x', newPassword: 'long enough here' }), 401);
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
      // An account change: recorded as a system event, without the token.
      const events = await t.db.superuserQuery<{ event: string }>(
        `SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE action = 'tokens.revoked' AND subject_id = $1`,
        [documenter.id],
      );
      expect(events.map((e) => JSON.parse(e.event))).toEqual([
        expect.objectContaining({
          actor: { id: documenter.id, role: 'documenter' },
          caseId: null,
          details: { sessions: 0, deviceTokens: 1, kinds: ['api'], tokenId: created.body.id, nonce: expect.any(String) },
        }),
      ]);
      expect(events[0]!.event).not.toContain(created.body.token);
    });

    it('an account holds at most 100 live device tokens (409, also when many are asked for at once), and the listings stay bounded', async () => {
      const user = await t.user('documenter');
      const as = { Authorization: `Bearer ${user.token}` };
      // Years of use, made directly: 98 live device tokens, 150 revoked, 30 expired, 300 ended sessions.
      const seed = (count: number, kind: string, ended: string, createdDaysAgo: number) =>
        t.db.superuserQuery(
          `INSERT INTO access_tokens (user_id, kind, name, token_hash, created_at, expires_at, revoked_at)
           SELECT $1, $2, 'seed ' || n, decode(md5(random()::text) || md5(random()::text), 'hex'),
                  now() - make_interval(days => $4) - make_interval(secs => n),
                  CASE WHEN $3 = 'expired' THEN now() - interval '1 day' ELSE now() + interval '300 days' END,
                  CASE WHEN $3 = 'revoked' THEN now() - interval '2 days' END
             FROM generate_series(1, $5) AS n`,
          [user.id, kind, ended, createdDaysAgo, count],
        );
      await seed(98, 'api', 'live', 10);
      await seed(150, 'api', 'revoked', 400);
      await seed(30, 'api', 'expired', 20);
      await seed(300, 'session', 'expired', 30);
      // Twenty asked for at once: exactly the two places left are taken.
      const asked = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http.post('/api/v1/auth/tokens').set(as).send({ name: `phone ${i}` })));
      expect(asked.filter((r) => r.status === 201)).toHaveLength(2);
      expect(asked.filter((r) => r.status === 409)).toHaveLength(18);
      const refused = asked.find((r) => r.status === 409)!;
      expect(expectProblem(refused, 409).detail).toMatch(/100 live device tokens/);
      // Nor may an administrator issue one in the user's name.
      expectProblem(await t.http.post(`/api/v1/users/${user.id}/tokens`).auth(t.admin.token, { type: 'bearer' }).send({ name: 'handed out' }), 409);
      const count = async () =>
        (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1 AND kind = 'api' AND revoked_at IS NULL`, [user.id]))[0]!.n;
      expect(await count()).toBe(130); // 100 live, 30 expired

      // Every live device token is listed, newest first, then the 100 that ended last.
      const list = await t.http.get('/api/v1/auth/tokens').set(as);
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(200);
      const live = list.body.slice(0, 100);
      expect(live.every((tok: { revokedAt: string | null; expiresAt: string }) => tok.revokedAt === null && Date.parse(tok.expiresAt) > Date.now())).toBe(true);
      expect(live.slice(0, 2).map((tok: { name: string }) => tok.name).sort()).toEqual(asked.filter((r) => r.status === 201).map((r) => r.body.name).sort());
      const created = live.map((tok: { createdAt: string }) => Date.parse(tok.createdAt));
      expect(created).toEqual([...created].sort((a: number, b: number) => b - a));
      const endOf = (tok: { revokedAt: string | null; expiresAt: string }) => Math.min(Date.parse(tok.revokedAt ?? tok.expiresAt), Date.parse(tok.expiresAt));
      const ended = list.body.slice(100);
      const ends = ended.map(endOf);
      expect(ends).toEqual([...ends].sort((a: number, b: number) => b - a));
      // The 30 that expired yesterday come before the 150 revoked two days ago.
      expect(ended.slice(0, 30).every((tok: { revokedAt: string | null }) => tok.revokedAt === null)).toBe(true);
      expect(ended.slice(30).every((tok: { revokedAt: string | null }) => tok.revokedAt !== null)).toBe(true);

      // An old device token revoked now ended last: it leads the ended ones, though made 400 days ago.
      const [oldest] = await t.db.superuserQuery<{ id: string }>(
        `SELECT id FROM access_tokens WHERE user_id = $1 AND kind = 'api' AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at LIMIT 1`,
        [user.id],
      );
      await t.db.superuserQuery(`UPDATE access_tokens SET created_at = now() - interval '400 days' WHERE id = $1`, [oldest!.id]);
      expect((await t.http.delete(`/api/v1/auth/tokens/${oldest!.id}`).set(as)).status).toBe(204);
      expect((await t.http.get('/api/v1/auth/tokens').set(as)).body[99].id).toBe(oldest!.id);
      expect((await t.http.post('/api/v1/auth/tokens').set(as).send({ name: 'replacement' })).status).toBe(201);

      // Many live sessions (scripted sign-ins) push no live device token out of the user's list.
      await seed(150, 'session', 'live', 0);
      const everything = await t.http.get(`/api/v1/users/${user.id}/tokens`).set(as);
      expect(everything.status).toBe(200);
      const kinds = everything.body.map((tok: { kind: string; revokedAt: string | null; expiresAt: string }) =>
        tok.revokedAt === null && Date.parse(tok.expiresAt) > Date.now() ? tok.kind : 'ended',
      );
      expect(kinds.filter((k: string) => k === 'api')).toHaveLength(100);
      expect(kinds.filter((k: string) => k === 'session')).toHaveLength(100);
      expect(kinds.filter((k: string) => k === 'ended')).toHaveLength(100);

      // Revoking one makes room for one.
      expect((await t.http.delete(`/api/v1/auth/tokens/${live[50].id}`).set(as)).status).toBe(204);
      expect((await t.http.post('/api/v1/auth/tokens').set(as).send({ name: 'new phone' })).status).toBe(201);
      expectProblem(await t.http.post('/api/v1/auth/tokens').set(as).send({ name: 'one more' }), 409);
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

    it('a sign-in beyond 100 live sessions ends the oldest; up to it, signing in ends none', async () => {
      const user = await t.user('investigator');
      const signIn = async () => {
        const res = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.accessToken as string;
      };
      const first = await signIn();
      // 98 more, made after it (scripted sign-ins): with t.user's own session, 100 live.
      await t.db.superuserQuery(
        `INSERT INTO access_tokens (user_id, kind, token_hash, created_at, expires_at)
         SELECT $1, 'session', decode(md5(random()::text) || md5(random()::text), 'hex'), now() + make_interval(secs => n), now() + interval '8 hours'
           FROM generate_series(1, 98) AS n`,
        [user.id],
      );
      const live = async () =>
        (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1 AND kind = 'session' AND revoked_at IS NULL`, [user.id]))[0]!.n;
      expect(await live()).toBe(100);
      expect((await t.http.get('/api/v1/auth/me').auth(first, { type: 'bearer' })).status).toBe(200);
      // The 101st: the oldest live session (t.user's own) ends, the one made next does not.
      const newest = await signIn();
      expect(await live()).toBe(100);
      expectProblem(await t.http.get('/api/v1/auth/me').auth(user.token, { type: 'bearer' }), 401);
      expect((await t.http.get('/api/v1/auth/me').auth(first, { type: 'bearer' })).status).toBe(200);
      expect((await t.http.get('/api/v1/auth/me').auth(newest, { type: 'bearer' })).status).toBe(200);
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
      expect(res.body).toMatchObject({ email: 'new.investigator@custodia.test', role: 'investigator', mustChangePassword: false, disabledAt: null });
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
      // Twelve code points that NFC makes six characters (an outside audit: accepted).
      const combining = await t.http
        .post('/api/v1/users')
        .auth(t.admin.token, { type: 'bearer' })
        .send({ email: 'combining@example.org', password: 'e\u0301'.repeat(6), displayName: 'C', role: 'auditor' });
      expect(expectProblem(combining, 400).errors).toEqual([{ field: 'password', message: 'must be at least 12 characters' }]);
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

  it('records a token\'s use at most once a minute: an authenticated read writes nothing in between', async () => {
    const user = await t.user('investigator', 'frequent reader');
    const lastUsed = async () =>
      (await t.db.superuserQuery<{ at: Date | null }>(`SELECT last_used_at AS at FROM access_tokens WHERE user_id = $1`, [user.id]))[0]!.at;
    expect((await t.http.get('/api/v1/cases').auth(user.token, { type: 'bearer' })).status).toBe(200);
    const first = await lastUsed();
    expect(first).not.toBeNull();
    for (let i = 0; i < 3; i++) expect((await t.http.get('/api/v1/cases').auth(user.token, { type: 'bearer' })).status).toBe(200);
    expect(await lastUsed()).toEqual(first);
    // A minute later, the next use is written.
    await t.db.superuserQuery(`UPDATE access_tokens SET last_used_at = now() - interval '2 minutes' WHERE user_id = $1`, [user.id]);
    const stale = await lastUsed();
    expect((await t.http.get('/api/v1/cases').auth(user.token, { type: 'bearer' })).status).toBe(200);
    expect((await lastUsed())!.getTime()).toBeGreaterThan(stale!.getTime());
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
