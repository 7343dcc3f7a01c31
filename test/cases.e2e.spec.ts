import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CasesService } from '../libs/cases/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';

describe('cases and membership (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let outsider: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let caseId: string;

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    outsider = await t.user('investigator', 'outsider');
    documenter = await t.user('documenter');
    auditor = await t.user('auditor');
    const res = await t.http
      .post('/api/v1/cases')
      .auth(investigator.token, { type: 'bearer' })
      .send({ title: 'Kharkiv, Saltivka, 2026-11-20', description: 'Night strike on residential blocks' });
    expect(res.status).toBe(201);
    caseId = res.body.id;
  });
  afterAll(async () => t?.close());

  it('POST /cases returns the documented shape and makes the creator a member', async () => {
    const res = await t.http.get(`/api/v1/cases/${caseId}`).auth(investigator.token, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: caseId,
      title: 'Kharkiv, Saltivka, 2026-11-20',
      description: 'Night strike on residential blocks',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      createdBy: investigator.id,
    });
    const members = await t.http.get(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' });
    expect(members.body.map((m: { userId: string }) => m.userId)).toEqual([investigator.id]);
  });

  it.each(['documenter', 'auditor'] as const)('a %s may not open a case (403), and nothing is stored', async (role) => {
    const user = role === 'documenter' ? documenter : auditor;
    expectProblem(await t.http.post('/api/v1/cases').auth(user.token, { type: 'bearer' }).send({ title: `by ${role}` }), 403);
    const rows = await t.db.superuserQuery(`SELECT 1 FROM cases WHERE title = $1`, [`by ${role}`]);
    expect(rows).toHaveLength(0);
  });

  it('validates the case body', async () => {
    const res = await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: '', colour: 'red' });
    const fields = expectProblem(res, 400).errors!.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['title', 'colour']));
  });

  it('a non-member gets 404 for the case and its members, never the case', async () => {
    for (const user of [outsider, documenter, auditor]) {
      const res = expectProblem(await t.http.get(`/api/v1/cases/${caseId}`).auth(user.token, { type: 'bearer' }), 404);
      expect(JSON.stringify(res)).not.toContain('Saltivka');
      expectProblem(await t.http.get(`/api/v1/cases/${caseId}/members`).auth(user.token, { type: 'bearer' }), 404);
      expectProblem(
        await t.http.post(`/api/v1/cases/${caseId}/members`).auth(user.token, { type: 'bearer' }).send({ userId: user.id }),
        user.role === 'investigator' ? 404 : 403,
      );
    }
    // A case that does not exist answers exactly like one the caller may not see.
    const missing = expectProblem(await t.http.get(`/api/v1/cases/${randomUUID()}`).auth(outsider.token, { type: 'bearer' }), 404);
    const hidden = expectProblem(await t.http.get(`/api/v1/cases/${caseId}`).auth(outsider.token, { type: 'bearer' }), 404);
    expect(missing.detail).toBe(hidden.detail);
  });

  it('GET /cases lists only the caller\'s cases; an admin sees every case', async () => {
    const mine = await t.http.get('/api/v1/cases').auth(investigator.token, { type: 'bearer' });
    expect(mine.body.map((c: { id: string }) => c.id)).toContain(caseId);
    const theirs = await t.http.get('/api/v1/cases').auth(outsider.token, { type: 'bearer' });
    expect(theirs.body.map((c: { id: string }) => c.id)).not.toContain(caseId);
    const admin = await t.http.get('/api/v1/cases').auth(t.admin.token, { type: 'bearer' });
    expect(admin.body.map((c: { id: string }) => c.id)).toContain(caseId);
  });

  it('a member investigator adds and removes members; members then see the case', async () => {
    const add = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: documenter.id });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ userId: documenter.id, role: 'documenter', addedBy: investigator.id });
    expect((await t.http.get(`/api/v1/cases/${caseId}`).auth(documenter.token, { type: 'bearer' })).status).toBe(200);
    expectProblem(
      await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: documenter.id }),
      409,
    );
    // A member documenter may read but not manage membership.
    expectProblem(
      await t.http.post(`/api/v1/cases/${caseId}/members`).auth(documenter.token, { type: 'bearer' }).send({ userId: auditor.id }),
      403,
    );
    expectProblem(await t.http.delete(`/api/v1/cases/${caseId}/members/${investigator.id}`).auth(documenter.token, { type: 'bearer' }), 403);
    expect((await t.http.delete(`/api/v1/cases/${caseId}/members/${documenter.id}`).auth(investigator.token, { type: 'bearer' })).status).toBe(204);
    expectProblem(await t.http.get(`/api/v1/cases/${caseId}`).auth(documenter.token, { type: 'bearer' }), 404);
    expectProblem(await t.http.delete(`/api/v1/cases/${caseId}/members/${documenter.id}`).auth(investigator.token, { type: 'bearer' }), 404);
  });

  it('a member removed just after being added: the 201 still answers with the member as added', async () => {
    const user = await t.user('documenter', 'coming and going');
    const created = await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'membership race' });
    // The removal commits right after the addition does, before anything reads the members again.
    const cases = t.app.get(CasesService);
    const members = cases.members.bind(cases);
    const spy = vi.spyOn(cases, 'members').mockImplementationOnce(async (...args) => {
      await t.db.superuserQuery(`DELETE FROM case_members WHERE case_id = $1 AND user_id = $2`, [created.body.id, user.id]);
      return members(...args);
    });
    const add = await t.http.post(`/api/v1/cases/${created.body.id}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: user.id });
    spy.mockRestore();
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ userId: user.id, role: 'documenter', addedBy: investigator.id, addedAt: expect.any(String) });
  });

  it('an admin manages members of any case', async () => {
    const add = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(t.admin.token, { type: 'bearer' }).send({ userId: auditor.id });
    expect(add.status).toBe(201);
    expect((await t.http.get(`/api/v1/cases/${caseId}`).auth(auditor.token, { type: 'bearer' })).status).toBe(200);
  });

  it('rejects an unknown user (422), a malformed id (400) and a malformed case id (400)', async () => {
    const unknown = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: randomUUID() });
    expect(expectProblem(unknown, 422).errors?.[0]?.field).toBe('userId');
    const malformed = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: 'bob' });
    expect(expectProblem(malformed, 400).errors?.[0]?.field).toBe('userId');
    const badCase = await t.http.get('/api/v1/cases/not-a-uuid').auth(investigator.token, { type: 'bearer' });
    expect(expectProblem(badCase, 400).errors?.[0]?.field).toBe('caseId');
  });

  it('adds a member by email (any case); exactly one of userId and email', async () => {
    const byEmail = await t.user('documenter', 'ByEmail');
    const add = await t.http
      .post(`/api/v1/cases/${caseId}/members`)
      .auth(investigator.token, { type: 'bearer' })
      .send({ email: byEmail.email.toUpperCase() });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ userId: byEmail.id, role: 'documenter', addedBy: investigator.id });
    expectProblem(
      await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ email: byEmail.email }),
      409,
    );
    const rows = await t.db.superuserQuery<{ event: string }>(
      `SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE case_id = $1 AND action = 'case.member_added' ORDER BY leaf_index DESC LIMIT 1`,
      [caseId],
    );
    expect(detailsOf(JSON.parse(rows[0]!.event))).toEqual({ userId: byEmail.id, role: 'documenter' });

    for (const body of [{}, { userId: byEmail.id, email: byEmail.email }]) {
      const res = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send(body);
      expect(expectProblem(res, 400).errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['userId', 'email']));
    }
    const malformed = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ email: 'not an email' });
    expect(new Set(expectProblem(malformed, 400).errors?.map((e) => e.field))).toEqual(new Set(['email']));
    const invisible = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ email: `a\u200b${byEmail.email}` });
    expect(expectProblem(invisible, 400).errors?.map((e) => e.field)).toContain('email');
  });

  it('an unknown or disabled email is 422 naming email; who may add stays as it was', async () => {
    const unknown = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ email: 'nobody@custodia.test' });
    expect(expectProblem(unknown, 422).errors?.map((e) => e.field)).toEqual(['email']);
    const gone = await t.user('auditor');
    await t.http.patch(`/api/v1/users/${gone.id}`).auth(t.admin.token, { type: 'bearer' }).send({ disabled: true, reason: 'left' });
    const disabled = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ email: gone.email });
    expect(expectProblem(disabled, 422).errors?.map((e) => e.field)).toEqual(['email']);
    const disabledById = await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: gone.id });
    expect(expectProblem(disabledById, 422).errors?.map((e) => e.field)).toEqual(['userId']);
    // A non-member investigator gets 404, a member auditor 403, as with userId.
    const target = await t.user('documenter');
    expectProblem(await t.http.post(`/api/v1/cases/${caseId}/members`).auth(outsider.token, { type: 'bearer' }).send({ email: target.email }), 404);
    expectProblem(await t.http.post(`/api/v1/cases/${caseId}/members`).auth(auditor.token, { type: 'bearer' }).send({ email: target.email }), 403);
    expect((await t.http.post(`/api/v1/cases/${caseId}/members`).auth(t.admin.token, { type: 'bearer' }).send({ email: target.email })).status).toBe(201);
  });

  it("shows members' emails to administrators and investigators only", async () => {
    for (const member of [documenter, auditor]) {
      await t.http.post(`/api/v1/cases/${caseId}/members`).auth(investigator.token, { type: 'bearer' }).send({ userId: member.id });
    }
    const seen = async (who: TestUser): Promise<(string | undefined)[]> =>
      (await t.http.get(`/api/v1/cases/${caseId}/members`).auth(who.token, { type: 'bearer' })).body.map((m: { email?: string }) => m.email);
    for (const who of [investigator, t.admin]) expect((await seen(who)).every((email) => typeof email === 'string' && email.includes('@'))).toBe(true);
    for (const who of [documenter, auditor]) {
      const emails = await seen(who);
      expect(emails.length).toBeGreaterThanOrEqual(3);
      expect(emails.every((email) => email === undefined)).toBe(true);
    }
  });

  it('every case route answers 401 without a token', async () => {
    const id = caseId;
    const routes = [
      t.http.post('/api/v1/cases').send({ title: 'x' }),
      t.http.get('/api/v1/cases'),
      t.http.get(`/api/v1/cases/${id}`),
      t.http.get(`/api/v1/cases/${id}/members`),
      t.http.post(`/api/v1/cases/${id}/members`).send({ userId: randomUUID() }),
      t.http.delete(`/api/v1/cases/${id}/members/${randomUUID()}`),
    ];
    for (const res of await Promise.all(routes)) expectProblem(res, 401);
  });
});
