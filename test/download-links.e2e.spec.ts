// One-time download links (POST /auth/download-links): a browser saves an original or a court
// package straight to disk by following a link, which cannot carry the Authorization header. The
// link acts as its maker through their token, once, within a minute, for one route only.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, binary, createCase, sha256hex, submit } from './support/evidence.js';
import { makeExport } from './support/exports.js';

describe('one-time download links (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let caseId: string;
  let bytes: Buffer;
  let itemId: string;
  let otherId: string;

  const askLink = (user: TestUser | string, body: unknown) =>
    t.http.post('/api/v1/auth/download-links').set('Authorization', typeof user === 'string' ? `Bearer ${user}` : bearer(user)).send(body as object);
  const linkTo = async (user: TestUser | string, path: string): Promise<string> => {
    const res = await askLink(user, { path });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.url;
  };
  /** Follows a link as a browser does: no Authorization header. */
  const follow = async (url: string) => {
    const res = await t.http.get(url).buffer(true).parse(binary);
    // A refusal is problem+json: as text for expectProblem.
    if (res.status >= 400) Object.assign(res, { text: (res.body as Buffer).toString('utf8') });
    return res;
  };
  const waiting = async () => (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM download_links`))[0]!.n;
  const downloadsOf = async (id: string): Promise<{ actor: { id: string } }[]> => {
    const res = await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator));
    expect(res.status).toBe(200);
    return res.body.events.map((e: { event: { action: string } }) => e.event).filter((e: { action: string }) => e.action === 'evidence.downloaded');
  };

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator', 'Ines Investigator');
    documenter = await t.user('documenter', 'Dana Documenter');
    auditor = await t.user('auditor', 'Aud Auditor');
    caseId = await createCase(t, investigator, 'Links', [documenter, auditor]);
    bytes = randomBytes(200_000);
    const res = await submit(t, investigator, caseId, bytes, { metadata: { sha256: sha256hex(bytes) }, filename: 'strike night.bin' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    itemId = res.body.id;
    const other = await submit(t, investigator, caseId, randomBytes(100), { filename: 'other.bin' });
    expect(other.status).toBe(201);
    otherId = other.body.id;
  });
  afterAll(async () => t?.close());

  it('a link downloads the original once, as an attachment, recorded as a download by the one who asked for it', async () => {
    const before = (await downloadsOf(itemId)).length;
    const asked = await askLink(investigator, { path: `/evidence/${itemId}/content` });
    expect(asked.status).toBe(201);
    expect(asked.body.url).toMatch(new RegExp(`^/api/v1/evidence/${itemId}/content\\?link=cdl_[A-Za-z0-9_-]{43}$`));
    const lasts = Date.parse(asked.body.expiresAt) - Date.now();
    expect(lasts).toBeGreaterThan(30_000);
    expect(lasts).toBeLessThanOrEqual(60_000);

    const res = await follow(asked.body.url);
    expect(res.status).toBe(200);
    expect(sha256hex(res.body)).toBe(sha256hex(bytes));
    expect(res.headers['content-disposition']).toMatch(/^attachment;/);
    const downloads = await downloadsOf(itemId);
    expect(downloads).toHaveLength(before + 1);
    expect(downloads.at(-1)!.actor).toEqual({ id: investigator.id, role: 'investigator' });

    // Used up: the same link again is refused, and nothing more is recorded.
    const again = expectProblem(await follow(asked.body.url), 401);
    expect(again.detail).toMatch(/download link/);
    expect(await downloadsOf(itemId)).toHaveLength(before + 1);
  });

  it('a link to a court package downloads the package whose SHA-256 the export names', async () => {
    const ready = await makeExport(t, investigator, caseId, { purpose: 'court', evidenceIds: [itemId] });
    const res = await follow(await linkTo(investigator, `/exports/${ready.id}/content`));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(sha256hex(res.body)).toBe(ready.sha256);
  });

  it('stores only the SHA-256 of a link, and never writes a link into the log', async () => {
    const url = await linkTo(investigator, `/evidence/${itemId}/content`);
    const link = new URL(url, 'http://x').searchParams.get('link')!;
    const rows = await t.db.superuserQuery<{ hashed: boolean; plain: boolean }>(
      `SELECT link_hash = sha256(convert_to($1, 'UTF8')) AS hashed, position(convert_to($1, 'UTF8') IN link_hash) > 0 AS plain FROM download_links`,
      [link],
    );
    expect(rows.filter((row) => row.hashed)).toHaveLength(1);
    expect(rows.some((row) => row.plain)).toBe(false);
    expect((await follow(url)).status).toBe(200);
    expectProblem(await follow(url), 401);
    expect(t.logText()).not.toContain(link);
    expect(t.logText()).not.toContain(createHash('sha256').update(link).digest('hex'));
  });

  it('a link opens only the route it was made for, and is used up by a try at another', async () => {
    const url = await linkTo(investigator, `/evidence/${itemId}/content`);
    const link = new URL(url, 'http://x').searchParams.get('link')!;
    expectProblem(await follow(`/api/v1/evidence/${otherId}/content?link=${link}`), 401);
    expectProblem(await follow(url), 401);
  });

  it('an expired link, or one whose token was revoked since, opens nothing', async () => {
    const url = await linkTo(investigator, `/evidence/${itemId}/content`);
    await t.db.superuserQuery(`UPDATE download_links SET expires_at = now() - interval '1 second'`);
    expectProblem(await follow(url), 401);

    const device = await t.http.post('/api/v1/auth/tokens').set('Authorization', bearer(investigator)).send({ name: 'laptop' });
    expect(device.status).toBe(201);
    const fromDevice = await linkTo(device.body.token, `/evidence/${itemId}/content`);
    expect((await t.http.delete(`/api/v1/auth/tokens/${device.body.id}`).set('Authorization', bearer(investigator))).status).toBe(204);
    expectProblem(await follow(fromDevice), 401);
  });

  it("gives no link for a file the caller may not download, and a link gives no one more than their own token would", async () => {
    const before = await waiting();
    // Refused as the download itself would be, before any link: a documenter reads only what
    // they submitted (404), an auditor never reads content (403), nobody reads what is not there.
    expectProblem(await askLink(documenter, { path: `/evidence/${itemId}/content` }), 404);
    expectProblem(await askLink(auditor, { path: `/evidence/${itemId}/content` }), 403);
    expectProblem(await askLink(investigator, { path: `/evidence/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/content` }), 404);
    expectProblem(await askLink(investigator, { path: `/exports/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/content` }), 404);
    expect(await waiting()).toBe(before);
    const mine = randomBytes(50);
    const own = await submit(t, documenter, caseId, mine, { filename: 'mine.bin' });
    const res = await follow(await linkTo(documenter, `/evidence/${own.body.id}/content`));
    expect(res.status).toBe(200);
    expect(sha256hex(res.body)).toBe(sha256hex(mine));
    // Checked again when followed: a member removed from the case meanwhile gets nothing.
    const colleague = await t.user('investigator', 'Leaving Colleague');
    expect((await t.http.post(`/api/v1/cases/${caseId}/members`).set('Authorization', bearer(investigator)).send({ userId: colleague.id })).status).toBe(201);
    const url = await linkTo(colleague, `/evidence/${itemId}/content`);
    expect((await t.http.delete(`/api/v1/cases/${caseId}/members/${colleague.id}`).set('Authorization', bearer(investigator))).status).toBe(204);
    expectProblem(await follow(url), 404);
  });

  it('opens a GET only: a HEAD before it (a download manager, a scanner) gets 401 and leaves the link for the GET', async () => {
    const url = await linkTo(investigator, `/evidence/${itemId}/content`);
    expect((await t.http.head(url)).status).toBe(401);
    const res = await follow(url);
    expect(res.status).toBe(200);
    expect(sha256hex(res.body)).toBe(sha256hex(bytes));
  });

  it('refuses what is not a download, and leaves nothing behind', async () => {
    const before = await waiting();
    for (const body of [
      {},
      { path: `/cases/${caseId}` },
      { path: `/evidence/${itemId}` },
      { path: `/evidence/${itemId}/thumbnail` },
      { path: `/evidence/${itemId.toUpperCase()}/content` },
      { path: `/evidence/../exports/${itemId}/content` },
      { path: `/evidence/${itemId}/content?x=1` },
      { path: `https://elsewhere.example/evidence/${itemId}/content` },
      { path: 42 },
      { path: `/evidence/${itemId}/content`, user: investigator.id },
    ]) {
      const problem = expectProblem(await askLink(investigator, body), 400);
      expect(problem.errors?.length, JSON.stringify(body)).toBeGreaterThan(0);
    }
    expectProblem(await t.http.post('/api/v1/auth/download-links').send({ path: `/evidence/${itemId}/content` }), 401);
    expect(await waiting()).toBe(before);
  });

  it('takes a link only as ?link= on a download route: not as a bearer token, not twice, not beside other parameters (which leave it unused)', async () => {
    const url = await linkTo(investigator, `/evidence/${itemId}/content`);
    const link = new URL(url, 'http://x').searchParams.get('link')!;
    expectProblem(await t.http.get(`/api/v1/evidence/${itemId}/content`).set('Authorization', `Bearer ${link}`), 401);
    // Elsewhere it is an unknown parameter (after the token check: 401 without one).
    expectProblem(await t.http.get(`/api/v1/evidence/${itemId}?link=${link}`), 401);
    const elsewhere = expectProblem(await t.http.get(`/api/v1/evidence/${itemId}?link=${link}`).set('Authorization', bearer(investigator)), 400);
    expect(elsewhere.errors?.map((e) => e.field)).toEqual(['link']);
    expect(expectProblem(await follow(`${url}&link=${link}`), 400).detail).toMatch(/one download link/);
    expectProblem(await follow(`/api/v1/evidence/${itemId}/content?link=cdl_${'A'.repeat(43)}`), 401);
    expectProblem(await follow(`/api/v1/evidence/${itemId}/content?link=nonsense`), 401);
    // A request with another parameter is refused before the link is used: it still works.
    expect(expectProblem(await follow(`${url}&x=1`), 400).errors?.map((e) => e.field)).toEqual(['x']);
    expect((await follow(url)).status).toBe(200);
    expectProblem(await follow(url), 401);
  });

  it('lets one user keep at most 16 links waiting over all their tokens (429 with Retry-After), and removes expired ones', async () => {
    const device = await t.http.post('/api/v1/auth/tokens').set('Authorization', bearer(investigator)).send({ name: 'many links' });
    await t.db.superuserQuery(`DELETE FROM download_links`);
    for (let i = 0; i < 16; i++) await linkTo(device.body.token, `/evidence/${itemId}/content`);
    const refused = await askLink(device.body.token, { path: `/evidence/${itemId}/content` });
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another token of the same user does not get 16 more; another user is not held back.
    expectProblem(await askLink(investigator, { path: `/evidence/${itemId}/content` }), 429);
    const colleague = await t.user('investigator', 'Another Investigator');
    expect((await t.http.post(`/api/v1/cases/${caseId}/members`).set('Authorization', bearer(investigator)).send({ userId: colleague.id })).status).toBe(201);
    await linkTo(colleague, `/evidence/${itemId}/content`);
    await t.db.superuserQuery(`UPDATE download_links SET expires_at = now() - interval '1 second'`);
    await linkTo(device.body.token, `/evidence/${itemId}/content`);
    expect(await waiting()).toBe(1);
  });
});
