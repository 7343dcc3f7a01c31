import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseHash,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
  eventLeafHash,
  type CustodyEvent,
  type SignedTreeHead,
} from '../libs/custody-core/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';

describe('the custody log API (e2e)', () => {
  let t: TestApp;
  let investigatorA: TestUser;
  let investigatorB: TestUser;
  let auditorA: TestUser;
  let documenterA: TestUser;
  let caseA: string;
  let caseB: string;
  /** The first administrator and the four users are created (system events) before the cases. */
  const BASE = 5;
  const range = (from: number, to: number) => `/entries?start=${BASE + from}&end=${BASE + to}`;

  const get = (user: TestUser, path: string) => t.http.get(`/api/v1/log${path}`).auth(user.token, { type: 'bearer' });
  /** The background loop signs heads every 50 ms here; wait until one covers `size` leaves. */
  const headCovering = async (user: TestUser, size: number): Promise<SignedTreeHead> => {
    for (let i = 0; i < 100; i++) {
      const res = await get(user, '/tree-head');
      if (res.body.treeSize >= size) return res.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no head covered ${size} leaves`);
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigatorA = await t.user('investigator');
    investigatorB = await t.user('investigator');
    auditorA = await t.user('auditor');
    documenterA = await t.user('documenter');
    caseA = (await t.http.post('/api/v1/cases').auth(investigatorA.token, { type: 'bearer' }).send({ title: 'A' })).body.id;
    caseB = (await t.http.post('/api/v1/cases').auth(investigatorB.token, { type: 'bearer' }).send({ title: 'B' })).body.id;
    for (const member of [auditorA, documenterA]) {
      await t.http.post(`/api/v1/cases/${caseA}/members`).auth(investigatorA.token, { type: 'bearer' }).send({ userId: member.id });
    }
    await t.http.delete(`/api/v1/cases/${caseA}/members/${documenterA.id}`).auth(investigatorA.token, { type: 'bearer' });
    // The entries below are read by index: every event above integrated first.
    await t.logged();
  });
  afterAll(async () => t?.close());

  it('starts with the accounts: the first administrator created by the system, the others by an administrator', async () => {
    const events: CustodyEvent[] = (await get(t.admin, `/entries?start=0&end=${BASE - 1}`)).body.map((e: { event: CustodyEvent }) => e.event);
    expect(events.map((e) => [e.action, e.caseId, e.actor.role])).toEqual([
      ['user.created', null, 'system'],
      ...[investigatorA, investigatorB, auditorA, documenterA].map(() => ['user.created', null, 'admin']),
    ]);
    expect(events[0]).toMatchObject({ actor: { id: 'system', role: 'system' }, subject: { type: 'user', id: t.admin.id }, details: { role: 'admin', via: 'first-admin' } });
    expect(events.slice(1).map((e) => e.subject.id)).toEqual([investigatorA.id, investigatorB.id, auditorA.id, documenterA.id]);
  });

  it('records one event per case change, with the actor and no personal details', async () => {
    const res = await get(t.admin, range(0, 4));
    expect(res.status).toBe(200);
    const events: CustodyEvent[] = res.body.map((e: { event: CustodyEvent }) => e.event);
    expect(events.map((e) => [e.action, e.caseId])).toEqual([
      ['case.created', caseA],
      ['case.created', caseB],
      ['case.member_added', caseA],
      ['case.member_added', caseA],
      ['case.member_removed', caseA],
    ]);
    expect(events[0]!.actor).toEqual({ id: investigatorA.id, role: 'investigator' });
    expect(detailsOf(events[4]!)).toEqual({ userId: documenterA.id });
    expect(JSON.stringify(events)).not.toContain(investigatorA.email);
    // Each leaf hash is the RFC 9162 hash of the event's RFC 8785 bytes.
    for (const entry of res.body) expect(eventLeafHash(entry.event).toString('hex')).toBe(entry.leafHash);
  });

  it('the head is signed by a published key, for every role', async () => {
    for (const user of [t.admin, investigatorB, auditorA, documenterA]) {
      const head = await headCovering(user, BASE + 5);
      const keys = (await get(user, '/keys')).body;
      expect(keys[0]).toMatchObject({ algorithm: 'Ed25519', activeTo: null });
      expect(verifyTreeHead(head, keys)).toEqual({ valid: true });
    }
  });

  it('entries of other cases are not disclosed, but their leaf hashes are', async () => {
    const auditorView = (await get(auditorA, range(0, 4))).body;
    expect(auditorView.map((e: { event: CustodyEvent | null }) => e.event?.caseId ?? null)).toEqual([caseA, null, caseA, caseA, caseA]);
    expect(auditorView[1].leafHash).toMatch(/^[0-9a-f]{64}$/);
    const outsiderView = (await get(investigatorB, range(0, 4))).body;
    expect(outsiderView.map((e: { event: CustodyEvent | null }) => e.event?.caseId ?? null)).toEqual([null, caseB, null, null, null]);
    // A documenter sees only what they did themselves (nothing here), even in a case they belonged to.
    const documenterView = (await get(documenterA, range(0, 4))).body;
    expect(documenterView.every((e: { event: unknown }) => e.event === null)).toBe(true);
  });

  it('inclusion proofs verify against the signed head, for every leaf', async () => {
    const head = await headCovering(auditorA, BASE + 5);
    for (let leafIndex = 0; leafIndex < head.treeSize; leafIndex++) {
      const res = await get(auditorA, `/proofs/inclusion?leafIndex=${leafIndex}&treeSize=${head.treeSize}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ leafIndex, treeSize: head.treeSize });
      expect(
        verifyInclusion(leafIndex, head.treeSize, parseHash(res.body.leafHash), res.body.auditPath.map(parseHash), parseHash(head.rootHash)),
      ).toBe(true);
    }
  });

  it('a later head is consistent with an earlier one', async () => {
    const early = await headCovering(t.admin, BASE + 5);
    await t.http.post('/api/v1/cases').auth(investigatorB.token, { type: 'bearer' }).send({ title: 'C' });
    const late = await headCovering(t.admin, early.treeSize + 1);
    const res = await get(t.admin, `/proofs/consistency?first=${early.treeSize}&second=${late.treeSize}`);
    expect(res.status).toBe(200);
    expect(
      verifyConsistency(early.treeSize, late.treeSize, res.body.proof.map(parseHash), parseHash(early.rootHash), parseHash(late.rootHash)),
    ).toBe(true);
    const heads = (await get(t.admin, `/tree-heads?from=${early.treeSize}`)).body;
    expect(heads.map((h: SignedTreeHead) => h.treeSize)).toEqual(expect.arrayContaining([early.treeSize, late.treeSize]));
  });

  it("gives one case's entries newest first, paged, to those who may read its log; another case's are 404", async () => {
    await t.logged();
    const all: { leafIndex: number; event: CustodyEvent }[] = (await get(t.admin, range(0, 30))).body.filter((e: { event: CustodyEvent | null }) => e.event?.caseId === caseA);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const newestFirst = all.map((e) => e.leafIndex).reverse();
    for (const reader of [auditorA, investigatorA, t.admin]) {
      const res = await get(reader, `/cases/${caseA}`);
      expect(res.status).toBe(200);
      expect(res.body.items.map((e: { leafIndex: number }) => e.leafIndex)).toEqual(newestFirst);
      expect(res.body.items.every((e: { event: CustodyEvent }) => e.event.caseId === caseA)).toBe(true);
      expect(res.body.nextBefore).toBeNull();
    }
    // Two at a time, then the rest from where the first page ended.
    const first = (await get(auditorA, `/cases/${caseA}?limit=2`)).body;
    expect(first.items.map((e: { leafIndex: number }) => e.leafIndex)).toEqual(newestFirst.slice(0, 2));
    expect(first.nextBefore).toBe(newestFirst[1]);
    const rest = (await get(auditorA, `/cases/${caseA}?before=${first.nextBefore}&limit=1000`)).body;
    expect(rest.items.map((e: { leafIndex: number }) => e.leafIndex)).toEqual(newestFirst.slice(2));
    // Not a member of case B (nor of A any more, for the documenter who left it).
    expectProblem(await get(auditorA, `/cases/${caseB}`), 404);
    expectProblem(await get(investigatorB, `/cases/${caseA}`), 404);
    expectProblem(await get(documenterA, `/cases/${caseA}`), 404);
    // Refusals name the parameter.
    expect(expectProblem(await get(auditorA, `/cases/${caseA}?limit=0`), 400).errors?.map((e) => e.field)).toEqual(['limit']);
    expect(expectProblem(await get(auditorA, `/cases/${caseA}?before=x`), 400).errors?.map((e) => e.field)).toEqual(['before']);
    expect(expectProblem(await get(auditorA, `/cases/${caseA}?caseId=${caseB}`), 400).errors?.map((e) => e.field)).toEqual(['caseId']);
    expectProblem(await get(auditorA, '/cases/not-a-uuid'), 400);
  });

  it('answers bad queries with problems naming the field', async () => {
    const cases: [string, number, string][] = [
      ['/entries?start=3&end=1', 422, 'end'],
      ['/entries?start=0&end=5000', 422, 'end'],
      ['/entries?start=-1&end=2', 400, 'start'],
      ['/entries?start=abc&end=2', 400, 'start'],
      ['/entries?start=0', 400, 'end'],
      ['/entries?start=0&end=1&evil=1', 400, 'evil'],
      ['/proofs/inclusion?leafIndex=0&treeSize=999999', 422, 'treeSize'],
      ['/proofs/inclusion?leafIndex=99&treeSize=3', 422, 'leafIndex'],
      ['/proofs/consistency?first=0&second=3', 422, 'first'],
      ['/proofs/consistency?first=4&second=3', 422, 'first'],
      ['/proofs/consistency?first=1&second=999999', 422, 'second'],
      ['/tree-heads?limit=100000', 400, 'limit'],
    ];
    for (const [path, status, field] of cases) {
      const problem = expectProblem(await get(t.admin, path), status);
      expect(problem.errors?.map((e) => e.field), path).toContain(field);
    }
  });

  const PUBLIC_PATHS = ['/tree-head', '/tree-heads', '/keys', '/leaves?start=0&end=1', '/proofs/inclusion?leafIndex=0', '/proofs/consistency?first=1&second=1'];

  it('heads, keys, leaf hashes and proofs answer without a token, as a monitor needs; events do not', async () => {
    for (const path of PUBLIC_PATHS) expect((await t.http.get(`/api/v1/log${path}`)).status, path).toBe(200);
    const leaves = (await t.http.get('/api/v1/log/leaves?start=0&end=1')).body;
    expect(leaves).toEqual([
      { leafIndex: 0, leafHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { leafIndex: 1, leafHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expectProblem(await t.http.get('/api/v1/log/entries?start=0&end=1'), 401);
    expectProblem(await t.http.get('/api/v1/log/leaves?start=0'), 400);
  });

  it('with CUSTODIA_PUBLIC_LOG=false every log route answers 401 without a token', async () => {
    const closed = await startTestApp({ CUSTODIA_PUBLIC_LOG: 'false' });
    try {
      for (const path of [...PUBLIC_PATHS, '/entries?start=0&end=1']) expectProblem(await closed.http.get(`/api/v1/log${path}`), 401);
      expect((await closed.http.get('/api/v1/log/tree-head').auth(closed.admin.token, { type: 'bearer' })).status).toBe(200);
    } finally {
      await closed.close();
    }
  });
});
