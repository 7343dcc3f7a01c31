// Issue 10 for evidence: every read of an item in its custody log, what the archive does by
// itself under the system actor, links to incidents made from the evidence side, the submission's
// metadata as strict as a JSON body, and the log's entries shown as far as the policy says.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLog } from '../libs/custody/src/index.js';
import type { CustodyEvent } from '../libs/custody-core/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, binary, createCase, expectNothingStored, fixture, quietState, storeState, submit, waitProcessed } from './support/evidence.js';

describe('evidence and the contract of issue 10 (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let otherDocumenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let otherCase: string;
  let photoId: string;

  const as = (user: TestUser) => ({
    get: (path: string) => t.http.get(`/api/v1${path}`).set('Authorization', bearer(user)),
    getBytes: (path: string) => t.http.get(`/api/v1${path}`).set('Authorization', bearer(user)).buffer(true).parse(binary),
    patch: (path: string, body: object) => t.http.patch(`/api/v1${path}`).set('Authorization', bearer(user)).send(body),
    post: (path: string, body: object) => t.http.post(`/api/v1${path}`).set('Authorization', bearer(user)).send(body),
  });
  const custodyEvents = async (id: string): Promise<CustodyEvent[]> => {
    const res = await as(investigator).get(`/evidence/${id}/custody`);
    expect(res.status).toBe(200);
    return res.body.events.map((e: { event: CustodyEvent }) => e.event);
  };
  const incident = async (inCase: string, title: string): Promise<string> => {
    const res = await as(investigator).post(`/cases/${inCase}/incidents`, {
      title,
      type: 'air_drone_strike',
      startAt: '2026-11-20T01:40:00+02:00',
      datePrecision: 'exact',
      location: { lat: 50.0268, lon: 36.3458 },
      geoPrecision: 'vicinity',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id;
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator');
    documenter = await t.user('documenter');
    otherDocumenter = await t.user('documenter', 'other documenter');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    caseId = await createCase(t, investigator, 'Contract', [documenter, otherDocumenter, auditor]);
    otherCase = await createCase(t, outsider, 'Another case');
    const res = await submit(t, documenter, caseId, fixture('orientation-1.jpg'), { filename: 'photo.jpg', contentType: 'image/jpeg' });
    expect(res.status).toBe(201);
    photoId = res.body.id;
    expect((await waitProcessed(t, documenter, photoId)).processing).toBe('done');
  });
  afterAll(async () => t?.close());

  describe('every read is in the custody log', () => {
    it('the record, the thumbnail and the preview each record evidence.viewed with their part, visible in the item custody', async () => {
      const viewed = async () => (await custodyEvents(photoId)).filter((e) => e.action === 'evidence.viewed' && e.actor.id === investigator.id);
      const before = (await viewed()).length;
      expect((await as(investigator).get(`/evidence/${photoId}`)).status).toBe(200);
      expect((await as(investigator).getBytes(`/evidence/${photoId}/thumbnail`)).status).toBe(200);
      expect((await as(investigator).getBytes(`/evidence/${photoId}/preview`)).status).toBe(200);
      // A HEAD of the record sends its headers only, and the log says so.
      const head = await t.http.head(`/api/v1/evidence/${photoId}`).set('Authorization', bearer(investigator));
      expect(head.status).toBe(200);
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      const after = await viewed();
      expect(after.slice(before).map(detailsOf)).toEqual([{ part: 'record' }, { part: 'thumbnail' }, { part: 'preview' }, { part: 'record', method: 'HEAD' }]);
      for (const event of after.slice(before)) {
        expect(event).toMatchObject({ actor: { id: investigator.id, role: 'investigator' }, caseId, subject: { type: 'evidence', id: photoId } });
      }
    });

    it('a refused read records nothing', async () => {
      const count = async () => (await t.db.superuserQuery<{ n: string }>(`SELECT count(*)::text AS n FROM custody_events WHERE subject_id = $1`, [photoId]))[0]!.n;
      const before = await count();
      expectProblem(await as(otherDocumenter).get(`/evidence/${photoId}`), 404);
      expectProblem(await as(outsider).get(`/evidence/${photoId}/thumbnail`), 404);
      expectProblem(await as(auditor).get(`/evidence/${photoId}/preview`), 403);
      expect(await count()).toBe(before);
    });
  });

  describe('what the archive does by itself', () => {
    it('derivatives and metadata extraction are recorded by the system actor on behalf of the submitter, and the log replays', async () => {
      const events = await custodyEvents(photoId);
      const byArchive = events.filter((e) => e.action === 'evidence.derivative_created' || e.action === 'evidence.metadata_extracted');
      expect(byArchive.map((e) => e.action).sort()).toEqual(['evidence.derivative_created', 'evidence.derivative_created', 'evidence.metadata_extracted']);
      for (const event of byArchive) {
        expect(event.actor).toEqual({ id: 'system', role: 'system' });
        expect(event.details['onBehalfOf']).toBe(documenter.id);
      }
      expect(events.find((e) => e.action === 'evidence.submitted')!.actor).toEqual({ id: documenter.id, role: 'documenter' });
      // `custodia log verify` replays the stored log: system events with no actor row pass.
      const report = await replayLog(t.dataSource);
      expect(report.firstDivergence).toBeNull();
      expect(report.events).toBeGreaterThan(events.length);
    });
  });

  describe('links from the evidence side', () => {
    let first: string;
    let second: string;
    let foreign: string;
    let itemId: string;

    beforeAll(async () => {
      first = await incident(caseId, 'First strike');
      second = await incident(caseId, 'Second strike');
      foreign = (
        await as(outsider).post(`/cases/${otherCase}/incidents`, {
          title: 'Elsewhere',
          type: 'air_drone_strike',
          startAt: '2026-11-20T01:40:00+02:00',
          datePrecision: 'exact',
          location: { lat: 50, lon: 36 },
          geoPrecision: 'vicinity',
        })
      ).body.id;
      expect(foreign).toMatch(/^[0-9a-f-]{36}$/);
      itemId = (await submit(t, investigator, caseId, randomBytes(128))).body.id;
    });

    const linkEvents = async (id: string) =>
      (await custodyEvents(id)).filter((e) => e.action === 'evidence.linked' || e.action === 'evidence.unlinked').map((e) => [e.action, e.details['incidentId'], e.details['role'] ?? null]);

    it('PATCH incidentId links the item to an incident of its case: evidence.linked, with the role', async () => {
      const res = await as(investigator).patch(`/evidence/${itemId}`, { incidentId: first, incidentRole: 'depicts_aftermath', reason: 'seen on site' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ incidentId: first, incidentRole: 'depicts_aftermath' });
      expect((await as(investigator).get(`/evidence/${itemId}`)).body).toMatchObject({ incidentId: first, incidentRole: 'depicts_aftermath' });
      expect(await linkEvents(itemId)).toEqual([['evidence.linked', first, 'depicts_aftermath']]);
      const linked = (await custodyEvents(itemId)).find((e) => e.action === 'evidence.linked')!;
      expect(linked).toMatchObject({ actor: { id: investigator.id }, reason: 'seen on site', details: { from: 'evidence' } });
      const listed = await as(investigator).get(`/cases/${caseId}/evidence?incidentId=${first}`);
      expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([itemId]);
    });

    it('the same link again changes nothing and records nothing', async () => {
      expect((await as(investigator).patch(`/evidence/${itemId}`, { incidentId: first })).status).toBe(200);
      expect(await linkEvents(itemId)).toHaveLength(1);
    });

    it('moving to another incident records unlinked then linked; changing the role alone relinks', async () => {
      expect((await as(investigator).patch(`/evidence/${itemId}`, { incidentId: second })).status).toBe(200);
      expect((await linkEvents(itemId)).slice(1)).toEqual([
        ['evidence.unlinked', first, null],
        ['evidence.linked', second, 'other'],
      ]);
      const role = await as(investigator).patch(`/evidence/${itemId}`, { incidentRole: 'depicts_munition' });
      expect(role.body).toMatchObject({ incidentId: second, incidentRole: 'depicts_munition' });
      expect((await linkEvents(itemId)).slice(3)).toEqual([['evidence.linked', second, 'depicts_munition']]);
    });

    it('another case\'s incident or a random UUID is 422 naming incidentId, and nothing changes', async () => {
      const before = await linkEvents(itemId);
      for (const target of [foreign, randomUUID()]) {
        const problem = expectProblem(await as(investigator).patch(`/evidence/${itemId}`, { incidentId: target, title: 'not kept' }), 422);
        expect(problem.errors?.map((e) => e.field)).toEqual(['incidentId']);
      }
      const item = (await as(investigator).get(`/evidence/${itemId}`)).body;
      expect(item).toMatchObject({ incidentId: second });
      expect(item.title).not.toBe('not kept');
      expect(await linkEvents(itemId)).toEqual(before);
    });

    it('null unlinks: evidence.unlinked, incidentId and incidentRole null; a role alone then is 422', async () => {
      const res = await as(investigator).patch(`/evidence/${itemId}`, { incidentId: null });
      expect(res.body).toMatchObject({ incidentId: null, incidentRole: null });
      expect((await linkEvents(itemId)).at(-1)).toEqual(['evidence.unlinked', second, null]);
      expect(expectProblem(await as(investigator).patch(`/evidence/${itemId}`, { incidentRole: 'other' }), 422).errors?.map((e) => e.field)).toEqual(['incidentRole']);
      expect(expectProblem(await as(investigator).patch(`/evidence/${itemId}`, { incidentRole: 'shown' }), 400).errors?.map((e) => e.field)).toEqual(['incidentRole']);
    });

    it('at intake: incidentId links with evidence.linked in the submission\'s events; another case\'s incident is 422, nothing stored', async () => {
      const res = await submit(t, documenter, caseId, randomBytes(96), { metadata: { incidentId: first, incidentRole: 'witness_account' } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ incidentId: first, incidentRole: 'witness_account' });
      const actions = (await custodyEvents(res.body.id)).map((e) => e.action);
      expect(actions).toEqual(['evidence.submitted', 'evidence.metadata_extracted', 'evidence.linked']);

      const before = await quietState(t);
      for (const target of [foreign, randomUUID()]) {
        const refused = await submit(t, documenter, caseId, randomBytes(96), { metadata: { incidentId: target } });
        expect(expectProblem(refused, 422).errors?.map((e) => e.field)).toEqual(['metadata.incidentId']);
      }
      await expectNothingStored(t, before);
    });
  });

  it('the listing filters by status, tag and incident, each naming itself when wrong', async () => {
    const id = (await submit(t, investigator, caseId, randomBytes(64), { metadata: { tags: ['filter-me'] } })).body.id;
    expect((await as(investigator).patch(`/evidence/${id}`, { status: 'verified', reason: 'checked twice' })).status).toBe(200);
    const ids = async (query: string) => (await as(investigator).get(`/cases/${caseId}/evidence?${query}`)).body.items.map((i: { id: string }) => i.id);
    expect(await ids('tag=filter-me')).toEqual([id]);
    expect(await ids('status=verified')).toEqual([id]);
    expect(await ids('status=verified&tag=other')).toEqual([]);
    for (const [query, field] of [['status=deleted', 'status'], ['incidentId=nope', 'incidentId'], ['tag=a&tag=b', 'tag']]) {
      expect(expectProblem(await as(investigator).get(`/cases/${caseId}/evidence?${query}`), 400).errors?.map((e) => e.field), query).toEqual([field]);
    }
  });

  it('the listing gives the items named by ids (a record screen naming its sources), only those the caller may read, and names a wrong list', async () => {
    const mine = (await submit(t, documenter, caseId, randomBytes(64))).body.id as string;
    const theirs = (await submit(t, investigator, caseId, randomBytes(64))).body.id as string;
    const ids = async (user: TestUser, query: string) => ((await as(user).get(`/cases/${caseId}/evidence?${query}`)).body.items.map((i: { id: string }) => i.id) as string[]).sort();
    // Upper case, a repeat and an id of no item are taken; the answer is the items.
    expect(await ids(investigator, `ids=${mine.toUpperCase()},${theirs},${theirs},${randomUUID()}`)).toEqual([mine, theirs].sort());
    expect(await ids(documenter, `ids=${mine},${theirs}`)).toEqual([mine]);
    const many = Array.from({ length: 201 }, () => randomUUID()).join(',');
    for (const query of ['ids=nope', `ids=${mine},`, `ids=${mine};${theirs}`, `ids=${many}`, `ids=${mine}&ids=${theirs}`]) {
      expect(expectProblem(await as(investigator).get(`/cases/${caseId}/evidence?${query}`), 400).errors?.map((e) => e.field), query.slice(0, 60)).toEqual(['ids']);
    }
  });

  it('the listing finds the items whose file has one of the given SHA-256 hashes, only those the caller may read, and names a wrong list', async () => {
    const [mineBytes, theirBytes] = [randomBytes(64), randomBytes(64)];
    const mine = (await submit(t, documenter, caseId, mineBytes)).body.id as string;
    const theirs = (await submit(t, investigator, caseId, theirBytes)).body.id as string;
    const again = (await submit(t, investigator, caseId, theirBytes)).body.id as string;
    const [mineHash, theirHash] = [mineBytes, theirBytes].map((bytes) => createHash('sha256').update(bytes).digest('hex'));
    const ids = async (user: TestUser, query: string) => ((await as(user).get(`/cases/${caseId}/evidence?${query}`)).body.items.map((i: { id: string }) => i.id) as string[]).sort();
    // Upper case, a repeat and a hash of no item are taken; both items with the same bytes are found.
    expect(await ids(investigator, `sha256=${mineHash!.toUpperCase()},${theirHash},${theirHash},${'0'.repeat(64)}`)).toEqual([mine, theirs, again].sort());
    expect(await ids(documenter, `sha256=${mineHash},${theirHash}`)).toEqual([mine]);
    // Another case's caller finds nothing by the hash of a file in this one.
    const other = await createCase(t, outsider, 'Hash lookup elsewhere');
    expect((await as(outsider).get(`/cases/${other}/evidence?sha256=${theirHash}`)).body.items).toEqual([]);
    const many = Array.from({ length: 201 }, () => theirHash).join(',');
    for (const query of ['sha256=nope', `sha256=${mineHash},`, `sha256=${mineHash!.slice(1)}`, `sha256=${mineHash};${theirHash}`, `sha256=${many}`, `sha256=${mineHash}&sha256=${theirHash}`]) {
      expect(expectProblem(await as(investigator).get(`/cases/${caseId}/evidence?${query}`), 400).errors?.map((e) => e.field), query.slice(0, 60)).toEqual(['sha256']);
    }
  });

  describe('the metadata part is as strict as a JSON body', () => {
    it.each([
      ['an unknown field', '{"title":"x","colour":"red"}', 'metadata.colour'],
      ['a __proto__ key', '{"title":"x","__proto__":{"admin":true}}', 'metadata.__proto__'],
      ['a constructor key', '{"location":{"lat":1,"lon":2,"constructor":{}}}', 'metadata.location.constructor'],
      ['NUL in text', JSON.stringify({ title: 'a\u0000b' }), 'metadata.title'],
      ['a control character in a tag', JSON.stringify({ tags: ['ok', 'bell\u0007'] }), 'metadata.tags[1]'],
      ['nesting deeper than 32', `{"title":${'['.repeat(40)}${']'.repeat(40)}}`, `metadata.title${'[0]'.repeat(31)}`],
      ['not JSON', '{title: x}', 'metadata'],
      ['not an object', '[1,2]', 'metadata'],
    ])('%s → 400 naming the field, nothing stored', async (_, metadata, field) => {
      const before = await storeState(t);
      const res = await submit(t, documenter, caseId, randomBytes(200), { metadata });
      expect(expectProblem(res, 400).errors?.map((e) => e.field)).toContain(field);
      await expectNothingStored(t, before);
    });

    it('the same refusal when the metadata part comes after the file', async () => {
      const before = await storeState(t);
      const res = await submit(t, documenter, caseId, randomBytes(200), { metadata: JSON.stringify({ title: 'a\u0000b' }), metadataLast: true });
      expect(expectProblem(res, 400).errors?.map((e) => e.field)).toContain('metadata.title');
      await expectNothingStored(t, before);
    });

    it('well-formed but wrong values are 422 naming the field', async () => {
      const before = await storeState(t);
      const res = await submit(t, documenter, caseId, randomBytes(200), { metadata: { location: { lat: 91, lon: 0 }, capturedAt: '2999-01-01T00:00:00Z' } });
      expect(expectProblem(res, 422).errors?.map((e) => e.field).sort()).toEqual(['metadata.capturedAt', 'metadata.location.lat']);
      await expectNothingStored(t, before);
    });
  });

  describe("the log's entries as the policy shows them", () => {
    type Entry = { leafIndex: number; leafHash: string; event: CustodyEvent | null };
    const entries = async (user: TestUser): Promise<Entry[]> => {
      const [{ size }] = await t.db.superuserQuery<{ size: number }>(`SELECT count(*)::int AS size FROM custody_events`);
      const all: Entry[] = [];
      for (let start = 0; start < size; start += 1000) {
        const res = await t.http.get(`/api/v1/log/entries?start=${start}&end=${Math.min(size, start + 1000) - 1}`).set('Authorization', bearer(user));
        expect(res.status).toBe(200);
        all.push(...res.body);
      }
      return all;
    };
    const ofCase = (list: Entry[], id: string | null) => list.filter((e) => e.event && e.event.caseId === id);

    beforeAll(async () => {
      // A system event (no case): an administrator creates a user.
      const created = await t.http
        .post('/api/v1/users')
        .set('Authorization', bearer(t.admin))
        .send({ email: `system-${Date.now()}@custodia.test`, password: 'a long password here', displayName: 'S', role: 'documenter' });
      expect(created.status).toBe(201);
    });

    it('every caller sees every leaf hash; administrators see every event, system events included', async () => {
      const admin = await entries(t.admin);
      expect(admin.length).toBeGreaterThan(10);
      expect(admin.every((e) => e.event !== null && /^[0-9a-f]{64}$/.test(e.leafHash))).toBe(true);
      expect(ofCase(admin, null).map((e) => e.event!.action)).toContain('user.created');
      for (const user of [investigator, documenter, auditor, outsider]) {
        const seen = await entries(user);
        expect(seen.map((e) => e.leafHash)).toEqual(admin.map((e) => e.leafHash));
        expect(ofCase(seen, null), `${user.role} sees no system event`).toEqual([]);
      }
    });

    it("an auditor of the case sees the case's events, whoever acted, and no other case's", async () => {
      const seen = await entries(auditor);
      const admin = await entries(t.admin);
      expect(ofCase(seen, caseId).length).toBe(ofCase(admin, caseId).length);
      expect(ofCase(seen, otherCase)).toEqual([]);
      expect(new Set(ofCase(seen, caseId).map((e) => e.event!.actor.id))).toEqual(new Set(ofCase(admin, caseId).map((e) => e.event!.actor.id)));
    });

    it('a documenter sees only the events they acted in', async () => {
      const seen = (await entries(documenter)).filter((e) => e.event);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((e) => e.event!.actor.id === documenter.id)).toBe(true);
      // Their item's derivatives were made by the system actor: not their action.
      expect(seen.some((e) => e.event!.action === 'evidence.submitted')).toBe(true);
      expect(seen.some((e) => e.event!.action === 'evidence.derivative_created')).toBe(false);
    });

    it("a non-member sees the other case's hashes only; an investigator their own cases' events", async () => {
      const seen = await entries(outsider);
      expect(ofCase(seen, caseId)).toEqual([]);
      expect(ofCase(seen, otherCase).length).toBeGreaterThan(0);
      const member = await entries(investigator);
      expect(ofCase(member, otherCase)).toEqual([]);
      expect(ofCase(member, caseId).length).toBe(ofCase(await entries(t.admin), caseId).length);
    });
  });
});
