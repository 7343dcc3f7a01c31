// Reading evidence over real HTTP: downloads (ranges, Repr-Digest, recorded in custody), verify
// (including a byte flipped on disk), the custody route checked with the pure verifier, PATCH,
// the case listing's filters and pagination.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  eventLeafHash,
  parseHash,
  verifyEventsAgainstHead,
  verifyInclusion,
  verifyTreeHead,
  type CustodyEvent,
  type PublishedKey,
} from '../libs/custody-core/src/index.js';
import { EvidenceService } from '../libs/evidence/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, binary, createCase, fixture, sha256base64, sha256hex, submit, waitProcessed } from './support/evidence.js';

interface CustodyAnswer {
  events: { event: CustodyEvent; leafIndex: number; leafHash: string }[];
  treeHead: { treeSize: number; rootHash: string; timestamp: string; keyId: string; signature: string };
  proofs: Record<string, string[]>;
  nextCursor: string | null;
}

describe('reading evidence (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let caseId: string;
  let keys: PublishedKey[];
  let bytes: Buffer;
  let itemId: string;

  const get = (user: TestUser, url: string) => t.http.get(`/api/v1${url}`).set('Authorization', bearer(user));
  const getBytes = (user: TestUser, url: string, headers: Record<string, string> = {}) =>
    t.http.get(`/api/v1${url}`).set('Authorization', bearer(user)).set(headers).buffer(true).parse(binary);
  const custodyOf = async (user: TestUser, id: string): Promise<CustodyAnswer> => {
    const res = await get(user, `/evidence/${id}/custody`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const actionsOf = async (id: string, action: string) =>
    (await custodyOf(investigator, id)).events.map((e) => e.event).filter((e) => e.action === action);

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator', 'Ines Investigator');
    documenter = await t.user('documenter', 'Dana Documenter');
    caseId = await createCase(t, investigator, 'Reading', [documenter]);
    keys = (await get(investigator, '/log/keys')).body;
    bytes = randomBytes(1000);
    const res = await submit(t, documenter, caseId, bytes, { metadata: { sha256: sha256hex(bytes), title: 'raw capture' }, filename: 'capture.bin' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    itemId = res.body.id;
  });
  afterAll(async () => t?.close());

  it('GET content: the exact bytes, Repr-Digest, ETag, attachment, nosniff', async () => {
    const res = await getBytes(documenter, `/evidence/${itemId}/content`);
    expect(res.status).toBe(200);
    expect((res.body as Buffer).equals(bytes)).toBe(true);
    expect(res.headers['repr-digest']).toBe(`sha-256=:${sha256base64(bytes)}:`);
    expect(res.headers['etag']).toMatch(/^(W\/)?"[^"]+"$/);
    expect(res.headers['content-disposition']).toMatch(/^attachment\b/);
    expect(res.headers['content-disposition']).toContain('capture.bin');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
  });

  it.each([
    ['bytes=0-9', 0, 10],
    ['bytes=-5', 995, 1000],
    ['bytes=10-', 10, 1000],
    ['bytes=990-5000', 990, 1000],
    ['bytes=999-999', 999, 1000],
  ])('Range %s → 206 with those bytes and Content-Range', async (range, start, end) => {
    const res = await getBytes(investigator, `/evidence/${itemId}/content`, { Range: range });
    expect(res.status).toBe(206);
    expect((res.body as Buffer).equals(bytes.subarray(start, end))).toBe(true);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end - 1}/1000`);
    expect(res.headers['content-length']).toBe(String(end - start));
    // Repr-Digest is the digest of the whole representation, whatever part is sent.
    expect(res.headers['repr-digest']).toBe(`sha-256=:${sha256base64(bytes)}:`);
    expect(res.headers['content-disposition']).toMatch(/^attachment\b/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('an unsatisfiable range → 416 problem with Content-Range bytes */size', async () => {
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const res = await get(investigator, `/evidence/${itemId}/content`).set('Range', range);
      expectProblem(res, 416);
      expect(res.headers['content-range']).toBe('bytes */1000');
    }
  });

  it('If-Range: the range for this version (its ETag), the whole body for any other, a weak tag or a date', async () => {
    const etag = (await getBytes(investigator, `/evidence/${itemId}/content`)).headers['etag']!;
    const same = await getBytes(investigator, `/evidence/${itemId}/content`, { Range: 'bytes=0-9', 'If-Range': etag });
    expect(same.status).toBe(206);
    expect((same.body as Buffer).equals(bytes.subarray(0, 10))).toBe(true);
    for (const other of [`"sha256-${'0'.repeat(64)}"`, `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const res = await getBytes(investigator, `/evidence/${itemId}/content`, { Range: 'bytes=0-9', 'If-Range': other });
      expect(res.status, other).toBe(200);
      expect(res.headers['content-range']).toBeUndefined();
      expect((res.body as Buffer).equals(bytes)).toBe(true);
    }
    // What was sent is what the log says: the whole file, no range.
    expect((await actionsOf(itemId, 'evidence.downloaded')).at(-1)!.details).not.toHaveProperty('range');
  });

  it('If-None-Match with its ETag answers 304, If-Match without it 412: no byte sent, no download recorded', async () => {
    // An outside audit: both were ignored (200 with the whole body).
    const etag = (await getBytes(investigator, `/evidence/${itemId}/content`)).headers['etag']!;
    const downloads = async () => (await actionsOf(itemId, 'evidence.downloaded')).length;
    const before = await downloads();
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await getBytes(investigator, `/evidence/${itemId}/content`, { 'If-None-Match': header });
      expect(res.status, header).toBe(304);
      expect(res.headers['etag']).toBe(etag);
      expect((res.body as Buffer).length).toBe(0);
    }
    for (const header of [`"sha256-${'0'.repeat(64)}"`, `W/${etag}`]) {
      const res = await t.http.get(`/api/v1/evidence/${itemId}/content`).set('Authorization', bearer(investigator)).set('If-Match', header);
      expect(expectProblem(res, 412).detail).toMatch(/^If-Match names no entity tag of this file/);
    }
    expect(await downloads()).toBe(before);
    // The conditions that hold let the download go on, and it is recorded.
    const matched = await getBytes(investigator, `/evidence/${itemId}/content`, { 'If-Match': etag, 'If-None-Match': `"sha256-${'0'.repeat(64)}"` });
    expect(matched.status).toBe(200);
    expect((matched.body as Buffer).equals(bytes)).toBe(true);
    expect((await getBytes(investigator, `/evidence/${itemId}/content`, { 'If-Match': '*' })).status).toBe(200);
    expect(await downloads()).toBe(before + 2);
    // The document says so, for generated clients.
    const document = (await t.http.get('/api/docs-json')).body as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const path of ['/api/v1/evidence/{id}/content', '/api/v1/exports/{id}/content']) expect(Object.keys(document.paths[path]!['get']!.responses), path).toEqual(expect.arrayContaining(['304', '412']));
  });

  it('HEAD answers the headers of a download without its bytes, and the log says so (method HEAD, no range)', async () => {
    const res = await t.http.head(`/api/v1/evidence/${itemId}/content`).set('Authorization', bearer(investigator)).set('Range', 'bytes=0-9');
    expect(res.status).toBe(206);
    expect(res.headers).toMatchObject({ 'content-length': '10', 'content-range': 'bytes 0-9/1000', 'repr-digest': `sha-256=:${sha256base64(bytes)}:` });
    expect(res.headers['etag']).toBe(`"sha256-${sha256hex(bytes)}"`);
    expect(detailsOf((await actionsOf(itemId, 'evidence.downloaded')).at(-1)!)).toEqual({ range: 'bytes=0-9', method: 'HEAD' });
  });

  it('a read the store cannot serve (its bytes gone) fails and is not recorded as a download or a view', async () => {
    const photo = await submit(t, investigator, caseId, fixture('scene-a.jpg'), { filename: 'gone.jpg' });
    expect(photo.status, JSON.stringify(photo.body)).toBe(201);
    const done = await waitProcessed(t, investigator, photo.body.id);
    expect(done.derivatives.thumbnail).not.toBeNull();
    const blobOf = (hex: string) => path.join(t.config.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex);
    const [thumbnailSha] = await t.db.superuserQuery<{ thumbnail_sha256: string }>('SELECT thumbnail_sha256 FROM evidence_items WHERE id = $1', [photo.body.id]);
    const aside = [blobOf(photo.body.sha256), blobOf(thumbnailSha!.thumbnail_sha256)];
    const reads = async () => (await custodyOf(investigator, photo.body.id)).events.filter((e) => ['evidence.downloaded', 'evidence.viewed'].includes(e.event.action)).length;
    await t.logged();
    const before = await reads();
    for (const file of aside) await rename(file, `${file}.aside`);
    try {
      for (const part of ['content', 'thumbnail']) {
        const res = await get(investigator, `/evidence/${photo.body.id}/${part}`);
        expect(res.status, part).toBeGreaterThanOrEqual(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    } finally {
      for (const file of aside) await rename(`${file}.aside`, file);
    }
    await t.logged();
    expect(await reads()).toBe(before);
    // Served again once the bytes are back, and recorded.
    expect((await getBytes(investigator, `/evidence/${photo.body.id}/content`)).status).toBe(200);
    await t.logged();
    expect(await reads()).toBe(before + 1);
  });

  it('each download is recorded as evidence.downloaded, with the actor and the range', async () => {
    const before = (await actionsOf(itemId, 'evidence.downloaded')).length;
    expect((await getBytes(documenter, `/evidence/${itemId}/content`)).status).toBe(200);
    expect((await getBytes(investigator, `/evidence/${itemId}/content`, { Range: 'bytes=0-9' })).status).toBe(206);
    const downloads = await actionsOf(itemId, 'evidence.downloaded');
    expect(downloads).toHaveLength(before + 2);
    const [whole, part] = downloads.slice(-2);
    expect(whole!.actor).toEqual({ id: documenter.id, role: 'documenter' });
    expect(part!.actor).toEqual({ id: investigator.id, role: 'investigator' });
    expect(part!.details).toMatchObject({ range: 'bytes=0-9' });
    expect(whole!.subject).toEqual({ type: 'evidence', id: itemId, sha256: sha256hex(bytes) });
  });

  it('the custody route: every event of the item verifies against its signed tree head', async () => {
    const custody = await custodyOf(documenter, itemId);
    expect(custody.events.length).toBeGreaterThanOrEqual(2);
    expect(custody.events[0]!.event.action).toBe('evidence.submitted');
    expect(verifyTreeHead(custody.treeHead, keys)).toEqual({ valid: true });
    for (const e of custody.events) {
      expect(e.event.subject.id).toBe(itemId);
      expect(e.leafHash).toBe(eventLeafHash(e.event).toString('hex'));
      const proof = custody.proofs[String(e.leafIndex)]!;
      expect(verifyInclusion(e.leafIndex, custody.treeHead.treeSize, parseHash(e.leafHash), proof.map(parseHash), parseHash(custody.treeHead.rootHash))).toBe(true);
    }
    const report = verifyEventsAgainstHead(
      custody.events.map((e) => ({ event: e.event, leafIndex: e.leafIndex, leafHash: e.leafHash, proof: custody.proofs[String(e.leafIndex)]! })),
      custody.treeHead,
      keys,
    );
    expect(report.valid, report.firstFailure).toBe(true);
    // A tampered event does not verify against the same head.
    const tampered = structuredClone(custody.events);
    tampered[0]!.event.subject.sha256 = sha256hex(Buffer.from('x'));
    const bad = verifyEventsAgainstHead(
      tampered.map((e) => ({ event: e.event, leafIndex: e.leafIndex, proof: custody.proofs[String(e.leafIndex)]! })),
      custody.treeHead,
      keys,
    );
    expect(bad.valid).toBe(false);
  });

  it("the custody route shows a documenter what they and the archive did to their item, not others' reads, changes or reasons", async () => {
    const own = await submit(t, documenter, caseId, randomBytes(256), { filename: 'mine.bin' });
    expect(own.status).toBe(201);
    // An investigator reads it and changes its status, with a reason the documenter is not to see.
    expect((await get(investigator, `/evidence/${own.body.id}`)).status).toBe(200);
    const changed = await t.http.patch(`/api/v1/evidence/${own.body.id}`).set('Authorization', bearer(investigator)).send({ status: 'disputed', reason: 'source X contradicts it' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await get(documenter, `/evidence/${own.body.id}`)).status).toBe(200);
    const all = await custodyOf(investigator, own.body.id);
    expect(all.events.map((e) => e.event.actor.id)).toContain(investigator.id);
    const theirs = await custodyOf(documenter, own.body.id);
    for (const e of theirs.events) expect([documenter.id, 'system'], e.event.action).toContain(e.event.actor.id);
    expect(theirs.events.map((e) => e.event.action)).toEqual(expect.arrayContaining(['evidence.submitted', 'evidence.viewed']));
    expect(JSON.stringify(theirs)).not.toContain('source X');
    expect(Object.keys(theirs.proofs).sort()).toEqual(theirs.events.map((e) => String(e.leafIndex)).sort());
    const report = verifyEventsAgainstHead(
      theirs.events.map((e) => ({ event: e.event, leafIndex: e.leafIndex, leafHash: e.leafHash, proof: theirs.proofs[String(e.leafIndex)]! })),
      theirs.treeHead,
      keys,
    );
    expect(report.valid, report.firstFailure).toBe(true);
  });

  it("the custody route pages an item's events (a documenter's pages hold only theirs), and verify checks past one page", async () => {
    const res = await submit(t, documenter, caseId, randomBytes(300), { filename: 'read-often.bin' });
    expect(res.status).toBe(201);
    const id = res.body.id;
    // Reads by two people, interleaved: every read is an event. Enough to fill more than one
    // page of verify's (1000).
    for (let round = 0; round < 51; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => get(i % 4 === 0 ? documenter : investigator, `/evidence/${id}`).expect(200)),
      );
    }
    const pages = async (user: TestUser, limit: number) => {
      const seen: CustodyAnswer[] = [];
      let cursor: string | null = null;
      do {
        const page = await get(user, `/evidence/${id}/custody?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        seen.push(page.body);
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      return seen;
    };
    const whole = await pages(investigator, 1000);
    const all = whole.flatMap((p) => p.events);
    expect(whole.length).toBe(2);
    expect(all.length).toBeGreaterThan(1000);
    expect(all.filter((e) => e.event.action === 'evidence.viewed').length).toBeGreaterThanOrEqual(1020);
    const small = await pages(investigator, 97);
    expect(small.length).toBe(Math.ceil(all.length / 97));
    expect(small.flatMap((p) => p.events)).toEqual(all);
    for (const page of small) {
      const report = verifyEventsAgainstHead(
        page.events.map((e) => ({ ...e, proof: page.proofs[String(e.leafIndex)]! })),
        page.treeHead,
        keys,
      );
      expect(report.valid, report.firstFailure).toBe(true);
      expect(Object.keys(page.proofs).length).toBe(page.events.length);
    }
    // A documenter's pages are full pages of their own and the archive's events.
    const theirs = await pages(documenter, 50);
    const mine = theirs.flatMap((p) => p.events);
    for (const page of theirs.slice(0, -1)) expect(page.events.length).toBe(50);
    for (const e of mine) expect([documenter.id, 'system']).toContain(e.event.actor.id);
    expect(mine).toEqual(all.filter((e) => [documenter.id, 'system'].includes(e.event.actor.id)));

    const checked = await t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(investigator));
    expect(checked.status).toBe(200);
    expect(checked.body.custody).toMatchObject({ events: all.length, allIncluded: true });
    expect(checked.body.intact).toBe(true);
    // A documenter's verification checks the events they may read, and counts only those: the
    // count of all would tell them how often others read it.
    const theirCheck = await t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(documenter));
    expect(theirCheck.status).toBe(200);
    expect(theirCheck.body).toMatchObject({ intact: true, custody: { events: mine.length, allIncluded: true } });

    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'cursor=-1', 'cursor=abc', 'limit=5&limit=6', 'after=3']) {
      expectProblem(await get(investigator, `/evidence/${id}/custody?${query}`), 400);
    }
    // A cursor past the item's last event: an empty last page, with a head.
    const past = await get(investigator, `/evidence/${id}/custody?cursor=999999999`);
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ events: [], proofs: {}, nextCursor: null });
    expect(verifyTreeHead(past.body.treeHead, keys)).toEqual({ valid: true });
  });

  it('verify: intact, then intact false after one byte of the stored blob is flipped on disk', async () => {
    const file = randomBytes(5000);
    const sha = sha256hex(file);
    const res = await submit(t, investigator, caseId, file);
    expect(res.status).toBe(201);
    const id = res.body.id;
    const ok = await t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(investigator));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ intact: true, storedSha256: sha, computedSha256: sha, custody: { allIncluded: true } });
    expect(ok.body.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ok.body.custody.events).toBeGreaterThanOrEqual(2);
    expect(ok.body.custody.treeSize).toBeGreaterThan(0);

    const blob = path.join(t.config.dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha);
    const stored = await readFile(blob);
    expect(stored.equals(file)).toBe(true);
    stored[2500] = stored[2500]! ^ 0x01;
    await chmod(blob, 0o644);
    await writeFile(blob, stored);

    const broken = await t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(investigator));
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ intact: false, storedSha256: sha, computedSha256: sha256hex(stored) });
    expect(broken.body.computedSha256).not.toBe(sha);
    // Both checks are in the log, the second saying what it found.
    const verified = await actionsOf(id, 'evidence.verified');
    expect(verified.map((e) => e.details['intact'])).toEqual([true, false]);
    expect(verified[1]!.details['computedSha256']).toBe(sha256hex(stored));
  });

  it('verify: checks of the same bytes at once share one reading, and one user runs at most two at a time (429)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await submit(t, investigator, caseId, randomBytes(3000))).body.id);
    const service = t.app.get(EvidenceService);
    const store = service['store'];
    const rehash = store.rehash.bind(store);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const reads = vi.spyOn(store, 'rehash').mockImplementation(async (sha256: string) => {
      await gate;
      return rehash(sha256);
    });
    const verify = (user: TestUser, id: string) => t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(user)).then((res) => res);
    try {
      const same = [verify(investigator, ids[0]!), verify(investigator, ids[0]!)];
      await expect.poll(() => service['verifying'].of(investigator.id)).toBe(2);
      const third = await verify(investigator, ids[1]!);
      expectProblem(third, 429);
      expect(third.headers['retry-after']).toBeDefined();
      // Someone else's check is not held up by it.
      const admins = verify(t.admin, ids[1]!);
      await expect.poll(() => reads.mock.calls.length).toBe(2);
      open();
      const answers = await Promise.all([...same, admins]);
      expect(answers.map((res) => [res.status, res.body.intact])).toEqual([
        [200, true],
        [200, true],
        [200, true],
      ]);
      expect(reads.mock.calls.map(([sha256]) => sha256)).toEqual([answers[0]!.body.storedSha256, answers[2]!.body.storedSha256]);
    } finally {
      open();
      reads.mockRestore();
    }
  });

  it('verify: a blob gone from disk is reported (intact false, computedSha256 null), not a server error', async () => {
    const file = randomBytes(700);
    const sha = sha256hex(file);
    const res = await submit(t, investigator, caseId, file);
    expect(res.status).toBe(201);
    await rm(path.join(t.config.dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha));
    const verify = await t.http.post(`/api/v1/evidence/${res.body.id}/verify`).set('Authorization', bearer(investigator));
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ intact: false, storedSha256: sha, computedSha256: null });
  });

  describe('PATCH', () => {
    it('an investigator changes title and tags, recorded as evidence.annotated; what was received does not change', async () => {
      const before = (await get(investigator, `/evidence/${itemId}`)).body;
      const res = await t.http
        .patch(`/api/v1/evidence/${itemId}`)
        .set('Authorization', bearer(investigator))
        .send({ title: 'Shelling of the bus depot', tags: ['shelling', 'transport', 'shelling'] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // A tag given twice is kept once.
      expect(res.body).toMatchObject({ title: 'Shelling of the bus depot', tags: ['shelling', 'transport'] });
      for (const key of ['sha256', 'sizeBytes', 'receivedAt', 'extracted', 'mediaType', 'originalFileName', 'submittedBy', 'declared']) {
        expect(res.body[key], key).toEqual(before[key]);
      }
      const annotated = await actionsOf(itemId, 'evidence.annotated');
      expect(annotated).toHaveLength(1);
      expect(annotated[0]!.actor).toEqual({ id: investigator.id, role: 'investigator' });
      expect((annotated[0]!.details['fields'] as string[]).slice().sort()).toEqual(['tags', 'title']);
      expect(annotated[0]!.subject).toEqual({ type: 'evidence', id: itemId, sha256: sha256hex(bytes) });
      // Sending the same values again changes nothing and records nothing.
      const same = await t.http.patch(`/api/v1/evidence/${itemId}`).set('Authorization', bearer(investigator)).send({ title: 'Shelling of the bus depot' });
      expect(same.status).toBe(200);
      expect(await actionsOf(itemId, 'evidence.annotated')).toHaveLength(1);
    });

    it('a status change is recorded as evidence.status_changed, with the reason when one is given (api.md: reason is optional)', async () => {
      const patch = (body: object) => t.http.patch(`/api/v1/evidence/${itemId}`).set('Authorization', bearer(investigator)).send(body);
      const noReason = await patch({ status: 'disputed' });
      expect(noReason.status, JSON.stringify(noReason.body)).toBe(200);
      expect(noReason.body.status).toBe('disputed');
      const reason = 'Geolocated against satellite imagery by two analysts';
      const res = await patch({ status: 'under_review', reason });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe('under_review');
      const changed = await actionsOf(itemId, 'evidence.status_changed');
      expect(changed).toHaveLength(2);
      expect(changed[0]).toMatchObject({ details: { from: 'received', to: 'disputed' }, actor: { id: investigator.id } });
      expect(changed[0]!.reason ?? null).toBeNull();
      expect(changed[1]).toMatchObject({ reason, details: { from: 'disputed', to: 'under_review' }, actor: { id: investigator.id } });
      // The same status again changes nothing and records nothing.
      expect((await patch({ status: 'under_review' })).status).toBe(200);
      expect(await actionsOf(itemId, 'evidence.status_changed')).toHaveLength(2);
    });

    it('cannot change the hash, the bytes or what the file says: unknown fields → 400 naming them', async () => {
      const before = (await get(investigator, `/evidence/${itemId}`)).body;
      for (const [field, value] of [
        ['sha256', sha256hex(Buffer.from('other'))],
        ['sizeBytes', 1],
        ['receivedAt', new Date().toISOString()],
        ['extracted', null],
        ['mediaType', 'image/jpeg'],
        ['caseId', randomUUID()],
      ] as const) {
        const res = await t.http.patch(`/api/v1/evidence/${itemId}`).set('Authorization', bearer(investigator)).send({ [field]: value });
        expect(expectProblem(res, 400).errors?.map((e) => e.field), field).toContain(field);
      }
      expect(expectProblem(await t.http.patch(`/api/v1/evidence/${itemId}`).set('Authorization', bearer(investigator)).send({ status: 'deleted', reason: 'x' }), 400).errors?.map((e) => e.field)).toContain('status');
      expect(expectProblem(await t.http.patch(`/api/v1/evidence/${itemId}`).set('Authorization', bearer(investigator)).send({ tags: 'one' }), 400).errors?.map((e) => e.field)).toContain('tags');
      const after = (await get(investigator, `/evidence/${itemId}`)).body;
      expect(after).toEqual(before);
      expectProblem(await t.http.patch(`/api/v1/evidence/${randomUUID()}`).set('Authorization', bearer(investigator)).send({ title: 'x' }), 404);
      expect(expectProblem(await t.http.patch(`/api/v1/evidence/nope`).set('Authorization', bearer(investigator)).send({ title: 'x' }), 400).errors?.[0]?.field).toBe('id');
    });
  });

  describe('the case listing', () => {
    let mapCase: string;
    const ids: Record<string, string> = {};

    const list = async (query: string, user: TestUser = investigator): Promise<string[]> => {
      const res = await get(user, `/cases/${mapCase}/evidence?${query}`);
      expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
      return res.body.items.map((i: { id: string }) => i.id);
    };
    const named = (...names: string[]) => names.map((n) => ids[n]!).sort();

    beforeAll(async () => {
      mapCase = await createCase(t, investigator, 'Map', [documenter]);
      const uploads: Array<[string, Buffer, Record<string, unknown>]> = [
        ['ne', fixture('exif-ne-offset.jpg'), {}], // Baghdad 33.312806, 44.361488; 2008-05-30T12:56:01.250Z
        ['nw', fixture('exif-nw-no-offset.jpg'), {}], // New York 40.689247, -74.044502; no zone
        ['se', fixture('exif-se-digitized.jpg'), {}], // Sydney -33.856784, 151.215297; 2019-12-31T12:30:00Z
        ['sw', fixture('exif-sw-offset.jpg'), {}], // Rio -22.951916, -43.210487; 2008-05-30T18:56:01Z
        ['deadSea', fixture('gps-below-sea-level.jpg'), {}], // 31.559, 35.4732
        ['png', fixture('exif.png'), {}], // Kyiv 50.4501, 30.5234
        ['declaredOnly', fixture('random.bin'), { location: { lat: 49.9935, lon: 36.2304 }, capturedAt: '2022-03-01T08:00:00+02:00' }], // Kharkiv, declared
        ['nothing', fixture('scene-a.jpg'), {}],
        ['neCopy', fixture('exif-ne-offset.jpg'), {}],
      ];
      for (const [name, file, metadata] of uploads) {
        const res = await submit(t, name === 'neCopy' ? documenter : investigator, mapCase, file, { metadata });
        expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(201);
        ids[name] = res.body.id;
      }
    });

    it('without filters: every item, newest first, in the resource shape', async () => {
      const res = await get(investigator, `/cases/${mapCase}/evidence`);
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items.map((i: { id: string }) => i.id)).toEqual(
        ['neCopy', 'nothing', 'declaredOnly', 'png', 'deadSea', 'sw', 'se', 'nw', 'ne'].map((n) => ids[n]),
      );
      expect(res.body.items[0]).toMatchObject({ id: ids['neCopy'], caseId: mapCase, flags: expect.arrayContaining(['exact_duplicate']), duplicateOf: ids['ne'] });
    });

    it.each([
      ['bbox=44,33,45,34', ['ne', 'neCopy']],
      ['bbox=-80,-30,-40,45', ['nw', 'sw']],
      ['bbox=150,-40,-170,-30', ['se']], // crosses the antimeridian
      ['bbox=-180,-90,180,90', ['ne', 'nw', 'se', 'sw', 'deadSea', 'png', 'declaredOnly', 'neCopy']],
      ['near=31.559,35.4732&radiusM=1000', ['deadSea']],
      ['near=33.31,44.36&radiusM=500', ['ne', 'neCopy']],
      ['near=33.31,44.36&radiusM=200', []],
      ['near=49.99,36.23&radiusM=2000', ['declaredOnly']], // the declared position is searched too (locationSource=any)
      ['near=50,33&radiusM=400000', ['png', 'declaredOnly']],
      ['flag=no_embedded_metadata', ['declaredOnly', 'nothing']],
      ['flag=exact_duplicate', ['neCopy']],
      ['flag=location_mismatch', []],
      ['mediaType=image/png', ['png']],
      ['mediaType=application/octet-stream', ['declaredOnly']],
      ['mediaType=image/*', ['ne', 'nw', 'se', 'sw', 'deadSea', 'png', 'nothing', 'neCopy']],
      // Several types, any of them; a family by the start of its subtype (the console's "Documents").
      ['mediaType=image/png,application/octet-stream', ['png', 'declaredOnly']],
      ['mediaType=IMAGE/P*,application/oct*', ['png', 'declaredOnly']],
      ['mediaType=video/*,image/pn*', ['png']],
      // nw's camera time has no zone: its 26-hour window overlaps the day.
      ['from=2008-05-30T00:00:00Z&to=2008-05-31T00:00:00Z', ['ne', 'sw', 'neCopy', 'nw']],
      ['mediaType=image/jpeg&bbox=-180,-90,0,90', ['nw', 'sw']],
    ])('%s', async (query, expected) => {
      expect((await list(query)).sort()).toEqual(named(...expected));
    });

    it('q finds words of titles, descriptions, tags and file names, Ukrainian included, whatever their case', async () => {
      const textCase = await createCase(t, investigator, 'Text', []);
      const up = async (title: string, extra: Record<string, unknown> = {}, filename = 'photo.jpg') => {
        const res = await submit(t, investigator, textCase, randomBytes(64), { metadata: { title, ...extra }, filename });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.id as string;
      };
      const school = await up('Зруйнована школа на Салтівці', { tags: ['Шахед'] });
      const hospital = await up('Hospital roof after the strike', { description: 'Пошкоджений дах лікарні' });
      const named = await up('untitled', {}, 'IMG_2041 Kharkiv.jpg');
      const search = async (q: string) => {
        const res = await get(investigator, `/cases/${textCase}/evidence?q=${encodeURIComponent(q)}`);
        expect(res.status).toBe(200);
        return res.body.items.map((i: { id: string }) => i.id).sort();
      };
      expect(await search('ШКОЛА')).toEqual([school]);
      expect(await search('шахед')).toEqual([school]);
      expect(await search('лікарні')).toEqual([hospital]);
      expect(await search('hospital STRIKE')).toEqual([hospital]);
      expect(await search('kharkiv')).toEqual([named]);
      expect(await search('Одеса')).toEqual([]);
      // A title changed by PATCH is found by its new words only.
      const patched = await t.http.patch(`/api/v1/evidence/${hospital}`).set('Authorization', bearer(investigator)).send({ title: 'Пологовий будинок' });
      expect(patched.status).toBe(200);
      expect(await search('пологовий')).toEqual([hospital]);
      expect(await search('roof')).toEqual([]);
    });

    it("q finds a statement by what it says of itself: its title, its author's name in any form, who saved it last; also after a PATCH", async () => {
      const statementCase = await createCase(t, investigator, 'Statements', []);
      const docx = (await submit(t, investigator, statementCase, fixture('statement.docx'), { metadata: { title: 'Statement 1' }, filename: 'a.docx' })).body.id as string;
      const rtf = (await submit(t, investigator, statementCase, fixture('statement.rtf'), { metadata: { title: 'Statement 2' }, filename: 'b.rtf' })).body.id as string;
      const search = async (q: string) => (await get(investigator, `/cases/${statementCase}/evidence?q=${encodeURIComponent(q)}`)).body.items.map((i: { id: string }) => i.id).sort();
      // dc:creator / \author "Олена Коваль"; asked in another case of the name.
      expect(await search('Олени Коваль')).toEqual([docx, rtf].sort());
      // The documents' own titles: "Свідчення щодо удару & пожежі", "... ₴ «Київ»".
      expect(await search('пожежі')).toEqual([docx]);
      expect(await search('Київ')).toEqual([rtf]);
      // cp:lastModifiedBy, \operator.
      expect(await search('investigator')).toEqual([docx, rtf].sort());
      const patched = await t.http.patch(`/api/v1/evidence/${docx}`).set('Authorization', bearer(investigator)).send({ title: 'Протокол' });
      expect(patched.status).toBe(200);
      expect(await search('Коваль протокол')).toEqual([docx]);
    });

    it('a documenter lists only what they submitted', async () => {
      expect(await list('', documenter)).toEqual([ids['neCopy']]);
      expect(await list('bbox=44,33,45,34', documenter)).toEqual([ids['neCopy']]);
    });

    it('a listing is a read of each item it shows: one evidence.viewed (part "listing") per item, by whom, HEAD included', async () => {
      const listings = async (id: string) =>
        (await actionsOf(id, 'evidence.viewed')).filter((e) => detailsOf(e).part === 'listing').map((e) => ({ actor: e.actor.id, ...detailsOf(e) }));
      const shown = [ids['ne']!, ids['neCopy']!, ids['nw']!];
      await t.logged();
      const before = await Promise.all(shown.map(listings));
      expect(await list('bbox=44,33,45,34', documenter)).toEqual([ids['neCopy']]);
      const head = await t.http.head(`/api/v1/cases/${mapCase}/evidence?bbox=44,33,45,34`).set('Authorization', bearer(investigator));
      expect(head.status).toBe(200);
      await t.logged();
      const added = (await Promise.all(shown.map(listings))).map((events, i) => events.slice(before[i]!.length));
      const byInvestigator = { actor: investigator.id, part: 'listing', method: 'HEAD' };
      expect(added).toEqual([[byInvestigator], [{ actor: documenter.id, part: 'listing' }, byInvestigator], []]);
    });

    it('limit + cursor: every page in order, all items, no repeats', async () => {
      const all = await list('limit=200');
      for (const limit of [1, 2, 4]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res = await get(investigator, `/cases/${mapCase}/evidence?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(res.status).toBe(200);
          expect(res.body.items.length).toBeLessThanOrEqual(limit);
          seen.push(...res.body.items.map((i: { id: string }) => i.id));
          cursor = res.body.nextCursor;
          expect(++pages).toBeLessThan(50);
        } while (cursor);
        expect(seen, `limit=${limit}`).toEqual(all);
        expect(new Set(seen).size).toBe(seen.length);
      }
      // Filters and cursors combine.
      const first = await get(investigator, `/cases/${mapCase}/evidence?mediaType=image/*&limit=3`);
      const second = await get(investigator, `/cases/${mapCase}/evidence?mediaType=image/*&limit=3&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      expect([...first.body.items, ...second.body.items].map((i: { mediaType: string }) => i.mediaType).every((m: string) => m.startsWith('image/'))).toBe(true);
    });

    it('limit + cursor do not skip items received within the same millisecond', async () => {
      // Two devices' submissions can commit within one millisecond; received_at keeps microseconds.
      // The rows are written directly to pin their receipt times (the app would give the same ones
      // under concurrent submissions).
      const sameMs = await createCase(t, investigator, 'Same millisecond');
      const rows: string[] = [];
      for (const micros of ['000100', '000400', '000700']) {
        const [row] = await t.db.superuserQuery<{ id: string }>(
          `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, received_at, processing)
           VALUES ($1, $2, 1, 'application/octet-stream', $3, $4, 'done') RETURNING id`,
          [sameMs, sha256hex(randomBytes(8)), investigator.id, `2001-01-01T00:00:00.${micros}Z`],
        );
        rows.push(row!.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(investigator, `/cases/${sameMs}/evidence?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        cursor = res.body.nextCursor;
        expect(++pages).toBeLessThan(10);
      } while (cursor);
      expect(seen).toEqual(rows.slice().reverse());
    });

    it.each([
      ['bbox=1,2,3', 'bbox'],
      ['bbox=a,b,c,d', 'bbox'],
      ['near=abc', 'near'],
      ['near=1,2,3', 'near'],
      ['near=10,10&radiusM=-5', 'radiusM'],
      ['near=10,10&radiusM=far', 'radiusM'],
      ['radiusM=100', 'radiusM'],
      ['flag=suspicious', 'flag'],
      ['near=10,10&locationSource=gps', 'locationSource'],
      ['mediaType=jpeg', 'mediaType'],
      ['mediaType=image/png,', 'mediaType'],
      ['mediaType=image/%25', 'mediaType'],
      ['mediaType=image/p_g', 'mediaType'],
      ['mediaType=image/*png', 'mediaType'],
      [`mediaType=${Array(21).fill('image/png').join(',')}`, 'mediaType'],
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['limit=1000', 'limit'],
      ['limit=2.5', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      ['bbox=0,0,1,1&bbox=0,0,2,2', 'bbox'],
      ['colour=red', 'colour'],
    ])('%s → 400 naming %s', async (query, field) => {
      const res = await get(investigator, `/cases/${mapCase}/evidence?${query}`);
      expect(expectProblem(res, 400).errors?.map((e) => e.field)).toContain(field);
    });

    // Well-formed but wrong (api.md, Errors: invalid coordinates): 422, as the same mistakes in a body.
    it.each([
      ['near=91,0', 'near'],
      ['near=0,-181', 'near'],
      ['bbox=0,0,181,1', 'bbox'],
      ['bbox=0,-91,1,1', 'bbox'],
      ['bbox=0,50,10,40', 'bbox'], // minLat above maxLat
      ['from=2008-06-01T00:00:00Z&to=2008-05-01T00:00:00Z', 'from'],
    ])('%s → 422 naming %s', async (query, field) => {
      const res = await get(investigator, `/cases/${mapCase}/evidence?${query}`);
      expect(expectProblem(res, 422).errors?.map((e) => e.field)).toEqual([field]);
    });
  });
});

describe('evidence role rules (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let docA: TestUser;
  let docB: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let outsideAuditor: TestUser;
  let outsideDocumenter: TestUser;
  let caseId: string;
  let itemA: string; // submitted by docA
  let itemB: string; // submitted by docB

  type Route = 'submit' | 'list' | 'read' | 'patch' | 'metadata' | 'custody' | 'verify' | 'content' | 'thumbnail' | 'preview';
  const ROUTES: Route[] = ['submit', 'list', 'read', 'patch', 'metadata', 'custody', 'verify', 'content', 'thumbnail', 'preview'];

  const call = (route: Route, user: TestUser | null, id: string) => {
    const auth = (req: ReturnType<TestApp['http']['get']>) => (user ? req.set('Authorization', bearer(user)) : req);
    switch (route) {
      case 'submit':
        return submit(t, user, caseId, randomBytes(64));
      case 'list':
        return auth(t.http.get(`/api/v1/cases/${caseId}/evidence`));
      case 'read':
        return auth(t.http.get(`/api/v1/evidence/${id}`));
      case 'patch':
        return auth(t.http.patch(`/api/v1/evidence/${id}`)).send({ tags: ['checked'] });
      case 'metadata':
        return auth(t.http.get(`/api/v1/evidence/${id}/metadata`));
      case 'custody':
        return auth(t.http.get(`/api/v1/evidence/${id}/custody`));
      case 'verify':
        return auth(t.http.post(`/api/v1/evidence/${id}/verify`));
      case 'content':
      case 'thumbnail':
      case 'preview':
        return auth(t.http.get(`/api/v1/evidence/${id}/${route}`)).buffer(true).parse(binary);
    }
  };
  const OK: Record<Route, number> = { submit: 201, list: 200, read: 200, patch: 200, metadata: 200, custody: 200, verify: 200, content: 200, thumbnail: 200, preview: 200 };
  const all = (status: number): Record<Route, number> => Object.fromEntries(ROUTES.map((r) => [r, status])) as Record<Route, number>;

  async function expectStatuses(user: TestUser | null, id: string, expected: Record<Route, number>, label: string): Promise<void> {
    const actual: Record<string, number> = {};
    for (const route of ROUTES) {
      const res = await call(route, user, id);
      actual[route] = res.status;
      if (res.status >= 400) {
        expect(String(res.headers['content-type']), `${label} ${route}`).toMatch(/^application\/problem\+json/);
        // Refusals never carry the item.
        expect(Buffer.isBuffer(res.body) ? res.body.toString('utf8') : res.text, `${label} ${route}`).not.toContain('Secret title');
      }
    }
    expect(actual, label).toEqual(expected);
  }

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator');
    docA = await t.user('documenter', 'doc A');
    docB = await t.user('documenter', 'doc B');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    outsideAuditor = await t.user('auditor', 'outside auditor');
    outsideDocumenter = await t.user('documenter', 'outside documenter');
    caseId = await createCase(t, investigator, 'Roles', [docA, docB, auditor]);
    const a = await submit(t, docA, caseId, fixture('orientation-1.jpg'), { metadata: { title: 'Secret title A' } });
    const b = await submit(t, docB, caseId, fixture('orientation-3.jpg'), { metadata: { title: 'Secret title B' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    itemA = a.body.id;
    itemB = b.body.id;
    expect((await waitProcessed(t, docA, itemA)).processing).toBe('done');
    expect((await waitProcessed(t, docB, itemB)).processing).toBe('done');
  });
  afterAll(async () => t?.close());

  it('an admin (not a member) may do everything', async () => {
    await expectStatuses(t.admin, itemA, OK, 'admin');
  });

  it('a member investigator may do everything', async () => {
    await expectStatuses(investigator, itemB, OK, 'investigator');
  });

  it('a member documenter: everything but PATCH and the full tag list (for investigators) on what they submitted', async () => {
    await expectStatuses(docA, itemA, { ...OK, patch: 403, metadata: 403 }, 'documenter, own item');
  });

  it("a member documenter gets 404 for another documenter's item (PATCH 403) and lists only their own", async () => {
    await expectStatuses(docA, itemB, { ...all(404), submit: 201, list: 200, patch: 403, metadata: 403 }, "documenter, other's item");
    const listed = await t.http.get(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(docA));
    const ids: string[] = listed.body.items.map((i: { id: string }) => i.id);
    expect(ids).toContain(itemA);
    expect(ids).not.toContain(itemB);
    const submitters = new Set(listed.body.items.map((i: { submittedBy: { id: string } }) => i.submittedBy.id));
    expect([...submitters]).toEqual([docA.id]);
  });

  it('a member auditor: custody and verify only; the resource, listing and bytes are 403', async () => {
    await expectStatuses(auditor, itemA, { ...all(403), custody: 200, verify: 200 }, 'auditor');
    const custody = await t.http.get(`/api/v1/evidence/${itemA}/custody`).set('Authorization', bearer(auditor));
    expect(JSON.stringify(custody.body)).not.toContain('Secret title');
  });

  it('a non-member investigator gets 404 everywhere', async () => {
    await expectStatuses(outsider, itemA, all(404), 'outsider investigator');
  });

  it('a non-member auditor or documenter learns nothing (404; routes their role never may are 403 by role, whatever the id)', async () => {
    // The policy refuses a role that never may do a route before any item is looked at
    // (@Permit): the 403 says nothing about the item or its case.
    await expectStatuses(outsideAuditor, itemA, { ...all(403), custody: 404, verify: 404 }, 'outside auditor');
    await expectStatuses(outsideDocumenter, itemA, { ...all(404), patch: 403, metadata: 403 }, 'outside documenter');
  });

  it('an item that does not exist answers like one the caller may not see', async () => {
    const missing = await t.http.get(`/api/v1/evidence/${randomUUID()}`).set('Authorization', bearer(outsider));
    const hidden = await t.http.get(`/api/v1/evidence/${itemA}`).set('Authorization', bearer(outsider));
    expect(expectProblem(missing, 404).detail).toBe(expectProblem(hidden, 404).detail);
  });

  it('401 everywhere without a token', async () => {
    await expectStatuses(null, itemA, all(401), 'anonymous');
  });
});
