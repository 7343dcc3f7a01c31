// Account administration (api.md "Users, roles, cases"): PATCH /users/:id, passwords set by an
// administrator, a user's sessions and device tokens, the last-administrator rule, and every
// account change as a system event of the custody log (custody.md "System events").
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CustodyEvent } from '../libs/custody-core/src/index.js';
import { CustodyLog, replayLog, SigningKeys } from '../libs/custody/src/index.js';
import { MIGRATIONS } from '../libs/db/src/migrations/index.js';
import { Accounts1764000700000 } from '../libs/db/src/migrations/1764000700000-accounts.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { whileChangeCommits } from './support/database.js';
import { onServer, withDatabase } from './support/postgres-server.js';

type Entry = { leafIndex: number; leafHash: string; event: CustodyEvent | null };

describe('account administration (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let auditor: TestUser;

  const as = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });
  const patch = (by: { token: string }, id: string, body: object) => t.http.patch(`/api/v1/users/${id}`).set(as(by)).send(body);
  const login = (email: string, password: string) => t.http.post('/api/v1/auth/login').send({ email, password });
  const deviceToken = async (user: { token: string }, name = 'Pixel 7'): Promise<string> => {
    const res = await t.http.post('/api/v1/auth/tokens').set(as(user)).send({ name });
    expect(res.status).toBe(201);
    return res.body.token;
  };
  const status = async (token: string) => (await t.http.get('/api/v1/cases').set(as({ token }))).status;

  /** The leaves of the custody log about one user, as `GET /log/entries` shows them to `reader`. */
  const entriesAbout = async (reader: { token: string }, userId: string): Promise<Entry[]> => {
    await t.logged();
    const rows = await t.db.superuserQuery<{ leaf_index: string }>(
      `SELECT leaf_index FROM custody_events WHERE subject_type = 'user' AND subject_id = $1 ORDER BY leaf_index`,
      [userId],
    );
    const entries: Entry[] = [];
    for (const { leaf_index } of rows) {
      const res = await t.http.get(`/api/v1/log/entries?start=${leaf_index}&end=${leaf_index}`).set(as(reader));
      expect(res.status).toBe(200);
      entries.push(res.body[0]);
    }
    return entries;
  };
  const eventsAbout = async (userId: string): Promise<CustodyEvent[]> => (await entriesAbout(t.admin, userId)).map((e) => e.event!);
  /** What happened to a user the harness made (through the admin, as POST /users), after its `user.created`. */
  const changesTo = async (userId: string): Promise<CustodyEvent[]> => {
    const [created, ...changes] = await eventsAbout(userId);
    expect(created).toMatchObject({ action: 'user.created', caseId: null, subject: { type: 'user', id: userId } });
    return changes;
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TRUST_PROXY: 'true' });
    investigator = await t.user('investigator');
    auditor = await t.user('auditor');
  });
  afterAll(async () => t?.close());

  describe('POST /users', () => {
    it('records user.created with the role, never the email, name or password', async () => {
      const email = `created-${Date.now()}@custodia.test`;
      const res = await t.http
        .post('/api/v1/users')
        .set(as(t.admin))
        .send({ email, password: 'a long password here', displayName: 'Mariia H.', role: 'documenter' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ email, role: 'documenter', disabledAt: null, mustChangePassword: false });
      const [event] = await eventsAbout(res.body.id);
      expect(event).toMatchObject({
        action: 'user.created',
        actor: { id: t.admin.id, role: 'admin' },
        caseId: null,
        subject: { type: 'user', id: res.body.id },
        details: { role: 'documenter', mustChange: false },
      });
      expect(JSON.stringify(event)).not.toMatch(/created-|Mariia|long password/);
    });
  });

  describe('PATCH /users/:id', () => {
    it('is for administrators only; an unknown id is 404, a malformed one 400', async () => {
      const target = await t.user('documenter');
      for (const user of [investigator, auditor, target]) {
        expectProblem(await patch(user, target.id, { displayName: 'X', reason: 'r' }), 403);
      }
      expectProblem(await patch(t.admin, randomUUID(), { displayName: 'X', reason: 'r' }), 404);
      expect(expectProblem(await patch(t.admin, 'not-a-uuid', { displayName: 'X', reason: 'r' }), 400).errors?.[0]?.field).toBe('id');
      expectProblem(await t.http.patch(`/api/v1/users/${target.id}`).send({ displayName: 'X', reason: 'r' }), 401);
    });

    it('requires a reason (422), validates fields (400 naming them) and refuses unknown ones', async () => {
      const target = await t.user('documenter');
      for (const body of [{ role: 'auditor' }, { role: 'auditor', reason: '   ' }]) {
        expect(expectProblem(await patch(t.admin, target.id, body), 422).errors?.map((e) => e.field)).toEqual(['reason']);
      }
      const bad = expectProblem(await patch(t.admin, target.id, { role: 'king', disabled: 'yes', displayName: '', reason: 5, email: 'x@y.z' }), 400);
      expect(bad.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['role', 'disabled', 'displayName', 'reason', 'email']));
      expectProblem(await patch(t.admin, target.id, { reason: 'nothing at all' }), 422);
      const rows = await t.db.superuserQuery(`SELECT role FROM users WHERE id = $1`, [target.id]);
      expect(rows[0]!['role']).toBe('documenter');
    });

    it('changes the role at once and records user.updated with the old and new role and the reason', async () => {
      const target = await t.user('investigator');
      const res = await patch(t.admin, target.id, { role: 'auditor', displayName: 'Renamed', reason: 'moved to the audit team' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: target.id, role: 'auditor', displayName: 'Renamed', disabledAt: null });
      // The same token now acts as an auditor.
      expectProblem(await t.http.post('/api/v1/cases').set(as(target)).send({ title: 'no longer allowed' }), 403);
      const [event] = await changesTo(target.id);
      expect(event).toMatchObject({
        action: 'user.updated',
        actor: { id: t.admin.id, role: 'admin' },
        caseId: null,
        subject: { type: 'user', id: target.id },
        details: { changed: ['displayName', 'role'], role: { from: 'investigator', to: 'auditor' } },
        reason: 'moved to the audit team',
      });
      expect(JSON.stringify(event)).not.toContain('Renamed');
      // The same values again change nothing and record nothing.
      expect((await patch(t.admin, target.id, { role: 'auditor', reason: 'again' })).status).toBe(200);
      expect(await changesTo(target.id)).toHaveLength(1);
    });

    it('disabling ends every session and device token at once; enabling again does not revive them', async () => {
      const target = await t.user('documenter');
      const second = (await login(target.email, target.password)).body.accessToken;
      const phone = await deviceToken(target);
      for (const token of [target.token, second, phone]) expect(await status(token)).toBe(200);

      const res = await patch(t.admin, target.id, { disabled: true, reason: 'left the organisation' });
      expect(res.status).toBe(200);
      expect(res.body.disabledAt).toEqual(expect.any(String));
      for (const token of [target.token, second, phone]) expectProblem(await t.http.get('/api/v1/cases').set(as({ token })), 401);
      expectProblem(await login(target.email, target.password), 401);
      const tokens = (await t.http.get(`/api/v1/users/${target.id}/tokens`).set(as(t.admin))).body;
      expect(tokens).toHaveLength(3);
      expect(tokens.every((tk: { revokedAt: string | null }) => tk.revokedAt !== null)).toBe(true);

      const enabled = await patch(t.admin, target.id, { disabled: false, reason: 'came back' });
      expect(enabled.body.disabledAt).toBeNull();
      for (const token of [target.token, second, phone]) expect(await status(token)).toBe(401);
      expect((await login(target.email, target.password)).status).toBe(200);

      const events = await changesTo(target.id);
      expect(events.map((e) => [e.action, detailsOf(e), e.reason])).toEqual([
        ['user.disabled', { sessionsEnded: 2, deviceTokensRevoked: 1 }, 'left the organisation'],
        ['user.updated', { changed: ['disabled'], disabled: { from: true, to: false } }, 'came back'],
      ]);
    });

    it('refuses to leave the archive without an active administrator (409)', async () => {
      // t.admin is the only administrator.
      expect(expectProblem(await patch(t.admin, t.admin.id, { role: 'investigator', reason: 'step down' }), 409).detail).toMatch(/last active administrator/);
      // No administrator disables their own account (it would end this very session), last or not.
      const self = expectProblem(await patch(t.admin, t.admin.id, { disabled: true, reason: 'bye' }), 422);
      expect(self.detail).toMatch(/own account/);
      expect(self.errors?.map((e) => e.field)).toEqual(['disabled']);
      expect(await status(t.admin.token)).toBe(200);

      const second = await t.user('admin', 'second-admin');
      // With another active administrator, an administrator may step down...
      expect((await patch(second, second.id, { role: 'investigator', reason: 'step down' })).status).toBe(200);
      // ...and the one left may not, nor be disabled by anyone.
      expectProblem(await patch(t.admin, t.admin.id, { role: 'auditor', reason: 'step down' }), 409);
      const third = await t.user('admin', 'third-admin');
      expectProblem(await patch(third, third.id, { disabled: true, reason: 'bye' }), 422);
      expect((await patch(t.admin, third.id, { disabled: true, reason: 'test' })).status).toBe(200);
      expectProblem(await patch(t.admin, t.admin.id, { disabled: true, reason: 'bye' }), 422);
      // A disabled administrator does not count.
      const rows = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL`);
      expect(rows[0]!['n']).toBe(1);
    });
  });

  describe('POST /users/:id/password', () => {
    it('is for administrators only, 404 for an unknown user, 400 naming a short password or unknown field', async () => {
      const target = await t.user('documenter');
      for (const user of [investigator, auditor, target]) {
        expectProblem(await t.http.post(`/api/v1/users/${target.id}/password`).set(as(user)).send({ password: 'a new long password' }), 403);
      }
      expectProblem(await t.http.post(`/api/v1/users/${randomUUID()}/password`).set(as(t.admin)).send({ password: 'a new long password' }), 404);
      const bad = await t.http.post(`/api/v1/users/${target.id}/password`).set(as(t.admin)).send({ password: 'short', mustChange: 'yes', hint: 1 });
      expect(expectProblem(bad, 400).errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['password', 'mustChange', 'hint']));
    });

    it('ends the user\'s sessions, keeps device tokens, and records user.password_set without the password', async () => {
      const target = await t.user('documenter');
      const phone = await deviceToken(target);
      const res = await t.http.post(`/api/v1/users/${target.id}/password`).set(as(t.admin)).send({ password: 'reset by the admin 1' });
      expect(res.status).toBe(204);
      expect(await status(target.token)).toBe(401);
      expect(await status(phone)).toBe(200);
      expectProblem(await login(target.email, target.password), 401);
      const fresh = await login(target.email, 'reset by the admin 1');
      expect(fresh.status).toBe(200);
      expect(fresh.body.user.mustChangePassword).toBe(false);
      const [event] = await changesTo(target.id);
      expect(event).toMatchObject({
        action: 'user.password_set',
        actor: { id: t.admin.id, role: 'admin' },
        caseId: null,
        details: { by: 'admin', mustChange: false, sessionsEnded: 1 },
      });
      expect(JSON.stringify(event)).not.toContain('reset by the admin');
    });

    it('with mustChange, the next login works but only changing the password, /auth/me and logout are allowed until then', async () => {
      const target = await t.user('investigator');
      const phone = await deviceToken(target);
      await t.http.post(`/api/v1/users/${target.id}/password`).set(as(t.admin)).send({ password: 'temporary password 1', mustChange: true });
      const signedIn = await login(target.email, 'temporary password 1');
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.user).toMatchObject({ id: target.id, mustChangePassword: true });
      const token = { token: signedIn.body.accessToken };

      const users = (await t.http.get('/api/v1/users').set(as(t.admin))).body;
      expect(users.find((u: { id: string }) => u.id === target.id).mustChangePassword).toBe(true);

      for (const res of [
        await t.http.get('/api/v1/cases').set(as(token)),
        await t.http.post('/api/v1/cases').set(as(token)).send({ title: 'not yet' }),
        await t.http.post('/api/v1/auth/tokens').set(as(token)).send({ name: 'not yet' }),
        await t.http.get(`/api/v1/users/${target.id}/tokens`).set(as(token)),
        // Device tokens of the user too.
        await t.http.get('/api/v1/cases').set(as({ token: phone })),
      ]) {
        expect(expectProblem(res, 403).detail).toMatch(/change your password first/i);
      }
      const me = await t.http.get('/api/v1/auth/me').set(as(token));
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ id: target.id, email: target.email, displayName: expect.any(String), role: 'investigator', mustChangePassword: true, language: null });

      const changed = await t.http
        .post('/api/v1/auth/password')
        .set(as(token))
        .send({ currentPassword: 'temporary password 1', newPassword: 'my own long password' });
      expect(changed.status).toBe(204);
      expect((await t.http.get('/api/v1/cases').set(as(token))).status).toBe(200);
      expect((await t.http.get('/api/v1/cases').set(as({ token: phone }))).status).toBe(200);
      expect((await t.http.get('/api/v1/auth/me').set(as(token))).body.mustChangePassword).toBe(false);

      const events = await changesTo(target.id);
      expect(events.map((e) => [e.action, e.actor.id, detailsOf(e)])).toEqual([
        ['user.password_set', t.admin.id, { by: 'admin', mustChange: true, sessionsEnded: 1 }],
        ['user.password_set', target.id, { by: 'self', mustChange: false, sessionsEnded: 0 }],
      ]);

      // Logout is allowed while a change is due.
      await t.http.post(`/api/v1/users/${target.id}/password`).set(as(t.admin)).send({ password: 'temporary password 2', mustChange: true });
      const again = (await login(target.email, 'temporary password 2')).body.accessToken;
      expect((await t.http.post('/api/v1/auth/logout').set(as({ token: again }))).status).toBe(204);
    });
  });

  describe('GET and DELETE /users/:id/tokens', () => {
    it('lists sessions and device tokens to an administrator or the user, never a hash; others get 404', async () => {
      const target = await t.user('documenter');
      await deviceToken(target, 'Galaxy A52');
      for (const reader of [t.admin, target]) {
        const res = await t.http.get(`/api/v1/users/${target.id}/tokens`).set(as(reader));
        expect(res.status).toBe(200);
        expect(res.body).toHaveLength(2);
        expect(res.body.map((tk: { kind: string }) => tk.kind).sort()).toEqual(['api', 'session']);
        for (const token of res.body) {
          expect(Object.keys(token).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'kind', 'lastUsedAt', 'name', 'revokedAt']);
        }
        expect(res.body.find((tk: { kind: string }) => tk.kind === 'api').name).toBe('Galaxy A52');
        expect(JSON.stringify(res.body)).not.toMatch(/cst_|hash/i);
      }
      for (const other of [investigator, auditor]) {
        expectProblem(await t.http.get(`/api/v1/users/${target.id}/tokens`).set(as(other)), 404);
      }
      expectProblem(await t.http.get(`/api/v1/users/${randomUUID()}/tokens`).set(as(t.admin)), 404);
      expectProblem(await t.http.get(`/api/v1/users/${target.id}/tokens`), 401);
    });

    it('an administrator revokes every session and device token in one call (a phone was seized)', async () => {
      const target = await t.user('documenter');
      const phone = await deviceToken(target, 'seized phone');
      const tablet = await deviceToken(target, 'tablet');
      const second = (await login(target.email, target.password)).body.accessToken;

      for (const user of [investigator, auditor, target]) expectProblem(await t.http.delete(`/api/v1/users/${target.id}/tokens`).set(as(user)), 403);
      expectProblem(await t.http.delete(`/api/v1/users/${randomUUID()}/tokens`).set(as(t.admin)), 404);
      expect(expectProblem(await t.http.delete(`/api/v1/users/${target.id}/tokens?why=x`).set(as(t.admin)), 400).errors?.[0]?.field).toBe('why');

      const res = await t.http.delete(`/api/v1/users/${target.id}/tokens?reason=${encodeURIComponent('phone seized at a checkpoint')}`).set(as(t.admin));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ sessions: 2, deviceTokens: 2 });
      for (const token of [target.token, second, phone, tablet]) expect(await status(token)).toBe(401);
      // The account itself stays: the documenter signs in again on a new phone.
      expect((await login(target.email, target.password)).status).toBe(200);

      const [event] = await changesTo(target.id);
      expect(event).toMatchObject({
        action: 'tokens.revoked',
        actor: { id: t.admin.id, role: 'admin' },
        caseId: null,
        subject: { type: 'user', id: target.id },
        details: { sessions: 2, deviceTokens: 2, kinds: ['session', 'api'] },
        reason: 'phone seized at a checkpoint',
      });
    });
  });

  describe('system events in the custody log', () => {
    it('key rotation is recorded as key.rotated by the system actor, with the old and new key ids', async () => {
      const keys = t.app.get(SigningKeys);
      const before = (await keys.active()).keyId;
      const after = await keys.rotate();
      await t.logged();
      const [row] = await t.db.superuserQuery<{ leaf_index: string; actor_id: string | null; case_id: string | null }>(
        `SELECT leaf_index, actor_id, case_id FROM custody_events WHERE action = 'key.rotated'`,
      );
      expect(row).toMatchObject({ actor_id: null, case_id: null });
      const entry = (await t.http.get(`/api/v1/log/entries?start=${row!.leaf_index}&end=${row!.leaf_index}`).set(as(t.admin))).body[0];
      expect(entry.event).toMatchObject({
        action: 'key.rotated',
        actor: { id: 'system', role: 'system' },
        caseId: null,
        subject: { type: 'key', id: after },
        details: { previousKeyId: before, keyId: after },
      });
    });

    it('are shown to administrators only: to everyone else, even the user concerned, as event: null', async () => {
      const target = await t.user('documenter');
      await patch(t.admin, target.id, { displayName: 'D.', reason: 'typo' });
      await t.http.post('/api/v1/auth/password').set(as(target)).send({ currentPassword: target.password, newPassword: 'another long password' });
      const caseId = (await t.http.post('/api/v1/cases').set(as(investigator)).send({ title: 'Members see case events' })).body.id;
      await t.http.post(`/api/v1/cases/${caseId}/members`).set(as(investigator)).send({ userId: auditor.id });
      await t.logged();

      const [{ size }] = await t.db.superuserQuery<{ size: number }>(`SELECT count(*)::int AS size FROM custody_events`);
      const all = (await t.http.get(`/api/v1/log/entries?start=0&end=${size - 1}`).set(as(t.admin))).body as Entry[];
      expect(all).toHaveLength(size);
      const system = all.filter((e) => e.event!.caseId === null);
      expect(new Set(system.map((e) => e.event!.action))).toEqual(
        new Set(['user.created', 'user.updated', 'user.disabled', 'user.password_set', 'tokens.revoked', 'key.rotated']),
      );
      const systemIndexes = new Set(system.map((e) => e.leafIndex));
      const relogin = (await login(target.email, 'another long password')).body.accessToken;
      for (const reader of [investigator, auditor, { token: relogin }]) {
        const seen = (await t.http.get(`/api/v1/log/entries?start=0&end=${size - 1}`).set(as(reader))).body as Entry[];
        for (const entry of seen) {
          if (systemIndexes.has(entry.leafIndex)) expect(entry.event, `leaf ${entry.leafIndex}`).toBeNull();
          expect(entry.leafHash).toBe(all[entry.leafIndex]!.leafHash);
        }
        // Case events stay visible as before (the investigator's own case).
        if (reader === investigator) expect(seen.some((e) => e.event?.caseId === caseId)).toBe(true);
      }
      // No event holds an email or a password.
      const text = JSON.stringify(all);
      expect(text).not.toContain('@custodia.test');
      expect(text).not.toMatch(/password for|long password/);
    });

    it('the whole log, system events included, still replays', async () => {
      const report = await replayLog(t.dataSource);
      expect(report.firstDivergence).toBeNull();
      const [{ size }] = await t.db.superuserQuery<{ size: number }>(`SELECT count(*)::int AS size FROM custody_events`);
      expect(report.events).toBe(size);
    });

    it('the events table stays append-only after the migration: UPDATE, DELETE and TRUNCATE are refused', async () => {
      const [row] = await t.db.superuserQuery<{ leaf_index: string }>(
        `SELECT leaf_index FROM custody_events WHERE case_id IS NULL ORDER BY leaf_index LIMIT 1`,
      );
      await expect(t.db.superuserQuery(`UPDATE custody_events SET action = 'user.created' WHERE leaf_index = $1`, [row!.leaf_index])).rejects.toThrow(
        /append-only/,
      );
      await expect(t.db.superuserQuery(`UPDATE custody_events SET actor_id = NULL WHERE leaf_index = 0`)).rejects.toThrow(/append-only/);
      await expect(t.db.superuserQuery(`DELETE FROM custody_events WHERE leaf_index = $1`, [row!.leaf_index])).rejects.toThrow(/append-only/);
      await expect(t.db.superuserQuery(`TRUNCATE custody_events`)).rejects.toThrow(/append-only/);
    });
  });
});

describe('the last-administrator rule under concurrency (e2e)', () => {
  it('two administrators demoting each other at once leave exactly one', async () => {
    const t = await startTestApp();
    try {
      const as = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });
      const a = await t.user('admin');
      const b = await t.user('admin');
      // The first administrator steps down, leaving a and b.
      expect((await t.http.patch(`/api/v1/users/${t.admin.id}`).set(as(t.admin)).send({ role: 'investigator', reason: 'handover' })).status).toBe(200);
      const results = await Promise.all([
        t.http.patch(`/api/v1/users/${b.id}`).set(as(a)).send({ role: 'investigator', reason: 'race' }),
        t.http.patch(`/api/v1/users/${a.id}`).set(as(b)).send({ disabled: true, reason: 'race' }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses[0]).toBe(200);
      // The loser is refused: 409 (the rule), 401 (no longer the administrator it was let in as,
      // seen under the lock) or 403 (no longer an administrator when it arrived).
      expect([401, 403, 409]).toContain(statuses[1]);
      const rows = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL`);
      expect(rows[0]!['n']).toBe(1);
    } finally {
      await t.close();
    }
  });
});

describe('administrators acting on each other at once (e2e)', () => {
  it('of two who disable, reset or revoke each other at the same moment, only the first acts: the second is refused (401)', async () => {
    const t = await startTestApp();
    try {
      const as = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });
      const outcomes: string[] = [];
      const actions = [
        (by: TestUser, on: TestUser) => t.http.patch(`/api/v1/users/${on.id}`).set(as(by)).send({ disabled: true, reason: 'race' }),
        (by: TestUser, on: TestUser) => t.http.post(`/api/v1/users/${on.id}/password`).set(as(by)).send({ password: 'a new long password 7' }),
        (by: TestUser, on: TestUser) => t.http.delete(`/api/v1/users/${on.id}/tokens?reason=race`).set(as(by)),
      ];
      for (let round = 0; round < 6; round++) {
        const a = await t.user('admin');
        const b = await t.user('admin');
        const act = actions[round % actions.length]!;
        const [ab, ba] = await Promise.all([act(a, b), act(b, a)]);
        const statuses = [ab.status, ba.status].sort();
        outcomes.push(statuses.join('/'));
        // Whichever went first: it acted (2xx), and the other's token was ended by it (401).
        expect(statuses[0]).toBeLessThan(300);
        expect(statuses[1]).toBe(401);
      }
      expect(outcomes).toHaveLength(6);
    } finally {
      await t.close();
    }
  });
});

describe('account changes that commit while a session or a token is being made (e2e)', () => {
  let t: TestApp;
  let other: TestUser;
  const as = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });

  beforeAll(async () => {
    t = await startTestApp();
    other = await t.user('investigator');
  });
  afterAll(async () => t?.close());

  /** Holds the user's row as every account change does (FOR UPDATE, first) while `request` runs, then commits `change`. */
  const whileAccountChanges = <T>(userId: string, request: () => PromiseLike<T>, change: (tx: pg.Client) => Promise<unknown>): Promise<T> =>
    whileChangeCommits(t.db.url, { sql: 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', params: [userId] }, request, change);
  const tokensOf = async (userId: string, kind: 'session' | 'api') =>
    (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1 AND kind = $2 AND revoked_at IS NULL`, [userId, kind]))[0]!.n;

  it('a login whose password was checked before a reset or a disable committed opens no session', async () => {
    const changes = [
      (tx: pg.Client, id: string) => tx.query(`UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE id = $2) WHERE id = $1`, [id, other.id]),
      (tx: pg.Client, id: string) => tx.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [id]),
    ];
    for (const change of changes) {
      const user = await t.user('documenter');
      const sessions = await tokensOf(user.id, 'session');
      const res = await whileAccountChanges(user.id, () => t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password }), (tx) => change(tx, user.id));
      expectProblem(res, 401);
      expect(await tokensOf(user.id, 'session')).toBe(sessions);
    }
  });

  it('a device token asked for with a token revoked meanwhile ("sign out everywhere", a seized phone) is not made', async () => {
    const user = await t.user('documenter');
    const res = await whileAccountChanges(user.id, () => t.http.post('/api/v1/auth/tokens').set(as(user)).send({ name: 'Pixel 7' }), (tx) =>
      tx.query(`UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [user.id]),
    );
    expectProblem(res, 401);
    expect(await t.db.superuserQuery(`SELECT 1 FROM access_tokens WHERE user_id = $1 AND kind = 'api'`, [user.id])).toEqual([]);
  });

  it("a device token an administrator issues for someone, asked for with the administrator's token revoked or role taken meanwhile, is not made", async () => {
    const changes = [
      (tx: pg.Client, id: string) => tx.query(`UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [id]),
      (tx: pg.Client, id: string) => tx.query(`UPDATE users SET role = 'investigator' WHERE id = $1`, [id]),
    ];
    for (const change of changes) {
      const admin = await t.user('admin');
      const res = await whileAccountChanges(admin.id, () => t.http.post(`/api/v1/users/${other.id}/tokens`).set(as(admin)).send({ name: 'handed out' }), (tx) => change(tx, admin.id));
      expectProblem(res, 401);
      expect(await tokensOf(other.id, 'api')).toBe(0);
    }
    // Two administrators issuing tokens for each other at once both get theirs.
    const [a, b] = [await t.user('admin'), await t.user('admin')];
    const both = await Promise.all([
      t.http.post(`/api/v1/users/${b.id}/tokens`).set(as(a)).send({ name: 'for b' }),
      t.http.post(`/api/v1/users/${a.id}/tokens`).set(as(b)).send({ name: 'for a' }),
    ]);
    expect(both.map((r) => r.status)).toEqual([201, 201]);
  });

  it('a member added while their account is disabled is not added (422)', async () => {
    const investigator = await t.user('investigator');
    const user = await t.user('documenter');
    const created = await t.http.post('/api/v1/cases').set(as(investigator)).send({ title: 'members and disables' });
    expect(created.status).toBe(201);
    const res = await whileAccountChanges(
      user.id,
      () => t.http.post(`/api/v1/cases/${created.body.id}/members`).set(as(investigator)).send({ userId: user.id }),
      (tx) => tx.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [user.id]),
    );
    expectProblem(res, 422);
    expect(await t.db.superuserQuery(`SELECT 1 FROM case_members WHERE user_id = $1`, [user.id])).toEqual([]);
  });

  it("changing one's own password does not undo an administrator's reset that committed while it was checked (409)", async () => {
    const user = await t.user('documenter');
    const res = await whileAccountChanges(
      user.id,
      () => t.http.post('/api/v1/auth/password').set(as(user)).send({ currentPassword: user.password, newPassword: 'a brand new passphrase' }),
      (tx) => tx.query(`UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE id = $2), must_change_password = true WHERE id = $1`, [user.id, other.id]),
    );
    expectProblem(res, 409);
    const [row] = await t.db.superuserQuery<{ reset: boolean; must: boolean }>(
      `SELECT u.password_hash = o.password_hash AS reset, u.must_change_password AS must FROM users u, users o WHERE u.id = $1 AND o.id = $2`,
      [user.id, other.id],
    );
    expect(row).toEqual({ reset: true, must: true });
    expectProblem(await t.http.post('/api/v1/auth/login').send({ email: user.email, password: 'a brand new passphrase' }), 401);
  });
});

describe('migration Accounts1764000700000 on an existing log', () => {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  const migrate = async (migrations: typeof MIGRATIONS): Promise<void> => {
    const ds = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each', logging: false, poolSize: 1 });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
  };
  let ds: DataSource;

  beforeAll(async () => {
    await onServer(serverUrl, [`CREATE DATABASE ${name}`]);
    await migrate(MIGRATIONS.filter((m) => m !== Accounts1764000700000));
  });
  afterAll(async () => {
    await ds?.destroy();
    await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  });

  it('keeps the events and their triggers, then takes system events, and the log replays', async () => {
    ds = new DataSource({ type: 'postgres', url, logging: false, poolSize: 2 });
    await ds.initialize();
    const log = new CustodyLog(ds);
    const userId = randomUUID();
    const caseId = randomUUID();
    for (let n = 0; n < 3; n++) {
      await ds.transaction((tx) =>
        log.append(tx, { action: 'case.member_added', actor: { id: userId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId }, details: { n } }),
      );
    }
    await log.integrateAll();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const before = (await client.query(`SELECT * FROM custody_events ORDER BY leaf_index`)).rows;
      await migrate(MIGRATIONS);
      const after = (await client.query(`SELECT * FROM custody_events ORDER BY leaf_index`)).rows;
      expect(after).toEqual(before);
      const triggers = (await client.query(`SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'custody_events'::regclass ORDER BY tgname`)).rows;
      expect(triggers).toEqual([
        { tgname: 'custody_events_append_only', tgenabled: 'O' },
        { tgname: 'custody_events_no_truncate', tgenabled: 'O' },
      ]);
      await expect(client.query(`UPDATE custody_events SET actor_id = NULL WHERE leaf_index = 1`)).rejects.toThrow(/append-only/);
      await expect(client.query(`DELETE FROM custody_events WHERE leaf_index = 2`)).rejects.toThrow(/append-only/);

      await ds.transaction((tx) =>
        log.append(tx, {
          action: 'user.created',
          actor: { id: 'system', role: 'system' },
          caseId: null,
          subject: { type: 'user', id: userId },
          details: { role: 'auditor' },
        }),
      );
      await log.integrateAll();
      const [system] = (await client.query(`SELECT actor_id, case_id FROM custody_events WHERE leaf_index = 3`)).rows;
      expect(system).toEqual({ actor_id: null, case_id: null });
      const report = await replayLog(ds);
      expect(report.firstDivergence).toBeNull();
      expect(report.events).toBe(4);
    } finally {
      await client.end();
    }
  });
});
