import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceLinks } from '../libs/evidence/src/index.js';
import { LINKED_BY_FROM_THE_LOG } from '../libs/db/src/migrations/1764002100000-incident-linked-by.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { submit } from './support/evidence.js';

/**
 * Who may do what with records (api.md, "Users, roles, cases"), evidence links seen from both
 * sides (issue 10, item 3), and the vocabularies every signed-in user reads.
 */
describe('records: roles per route, evidence links, vocabularies (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let otherCaseId: string;
  let photo: string;
  let witness: string;
  let foreign: string;
  let incidentId: string;
  let casualtyId: string;
  let damageId: string;

  const as = (user: TestUser) => ({
    get: (path: string) => t.http.get(`/api/v1${path}`).auth(user.token, { type: 'bearer' }),
    post: (path: string, body: unknown) => t.http.post(`/api/v1${path}`).auth(user.token, { type: 'bearer' }).send(body as object),
    patch: (path: string, body: unknown) => t.http.patch(`/api/v1${path}`).auth(user.token, { type: 'bearer' }).send(body as object),
  });
  const strike = (extra: Record<string, unknown> = {}) => ({ title: 'Удар по Салтівці', type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00', ...extra });
  const actionsAbout = async (subjectId: string) =>
    (await t.db.superuserQuery<{ action: string }>(`SELECT action FROM custody_events WHERE subject_id = $1 ORDER BY leaf_index`, [subjectId])).map((e) => e.action);
  const custodyEvents = async (user: TestUser, evidenceId: string) => {
    const res = await as(user).get(`/evidence/${evidenceId}/custody`);
    expect(res.status).toBe(200);
    return (res.body.events as { event: unknown }[]).map((e) => (typeof e.event === 'string' ? JSON.parse(e.event) : e.event) as { action: string; details: Record<string, unknown> });
  };

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    documenter = await t.user('documenter');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    caseId = (await as(investigator).post('/cases', { title: 'Saltivka' })).body.id;
    otherCaseId = (await as(investigator).post('/cases', { title: 'Elsewhere' })).body.id;
    for (const user of [documenter, auditor]) expect((await as(investigator).post(`/cases/${caseId}/members`, { userId: user.id })).status).toBe(201);
    const item = async (user: TestUser, inCase: string) => {
      const res = await submit(t, user, inCase, randomBytes(64), { metadata: { title: 'aftermath' } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    photo = await item(investigator, caseId);
    witness = await item(investigator, caseId);
    foreign = await item(investigator, otherCaseId);
  });
  afterAll(async () => t?.close());

  describe('evidence links', () => {
    it('a link made from the incident shows on the item, with an evidence.linked event in the same change', async () => {
      const res = await as(investigator).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: photo, role: 'depicts_aftermath' }] }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      incidentId = res.body.id;
      expect(res.body).toMatchObject({ evidence: [{ evidenceId: photo, role: 'depicts_aftermath' }], evidenceIds: [photo], unsourced: false });
      expect((await as(investigator).get(`/evidence/${photo}`)).body.incidentId).toBe(incidentId);
      const linked = (await custodyEvents(investigator, photo)).filter((e) => e.action === 'evidence.linked');
      expect(linked.map(detailsOf)).toEqual([{ incidentId, role: 'depicts_aftermath', from: 'incident' }]);
      // The incident's event and the link's follow each other: one append, one transaction.
      const [created, link] = await t.db.superuserQuery<{ leaf_index: string }>(
        `SELECT leaf_index FROM custody_events WHERE (subject_id = $1 AND action = 'incident.created') OR (subject_id = $2 AND action = 'evidence.linked') ORDER BY leaf_index`,
        [incidentId, photo],
      );
      expect(Number(link!.leaf_index)).toBe(Number(created!.leaf_index) + 1);
      // The record stores no links: they are the items'.
      const [stored] = await t.db.superuserQuery<{ record: Record<string, unknown> }>(`SELECT record FROM incidents WHERE id = $1`, [incidentId]);
      expect(stored!.record).not.toHaveProperty('evidence');
    });

    it('a PATCH without evidence keeps the links; one with evidence replaces them (evidence.unlinked, evidence.linked)', async () => {
      const kept = await as(investigator).patch(`/incidents/${incidentId}`, { grade: 'fair', reason: 'remnants seen' });
      expect(kept.status).toBe(200);
      expect(kept.body.evidenceIds).toEqual([photo]);
      expect((await as(investigator).get(`/evidence/${photo}`)).body.incidentId).toBe(incidentId);

      const before = await actionsAbout(incidentId);
      const moved = await as(investigator).patch(`/incidents/${incidentId}`, { evidence: [{ evidenceId: witness, role: 'witness_account' }], reason: 'the photo is of another street' });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ evidence: [{ evidenceId: witness, role: 'witness_account' }], evidenceIds: [witness] });
      expect((await as(investigator).get(`/evidence/${photo}`)).body.incidentId).toBeNull();
      expect((await as(investigator).get(`/evidence/${witness}`)).body.incidentId).toBe(incidentId);
      // Only the links changed: no incident.updated, the events are the items'.
      expect(await actionsAbout(incidentId)).toEqual(before);
      expect((await custodyEvents(investigator, photo)).map((e) => e.action)).toContain('evidence.unlinked');
      expect((await custodyEvents(investigator, witness)).filter((e) => e.action === 'evidence.linked')).toHaveLength(1);
    });

    it('refuses an item of another case (422 evidence[0].evidenceId) and stores nothing', async () => {
      const count = async () => (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM incidents`))[0]!.n;
      const before = await count();
      const refused = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: foreign, role: 'other' }] })), 422);
      expect(refused.errors).toEqual([{ field: 'evidence[0].evidenceId', message: expect.any(String) }]);
      expect(await count()).toBe(before);
      const patched = expectProblem(await as(investigator).patch(`/incidents/${incidentId}`, { evidence: [{ evidenceId: foreign }], reason: 'x' }), 422);
      expect(patched.errors!.map((e) => e.field)).toEqual(['evidence[0].evidenceId']);
      expect((await as(investigator).get(`/evidence/${foreign}`)).body.incidentId).toBeNull();
      expect((await as(investigator).get(`/evidence/${witness}`)).body.incidentId).toBe(incidentId);
    });

    it('a link made from the evidence side shows on the incident', async () => {
      const links = t.app.get(EvidenceLinks);
      const [row] = await t.db.superuserQuery<{ sha256: string }>(`SELECT sha256 FROM evidence_items WHERE id = $1`, [photo]);
      await t.dataSource.transaction((tx) =>
        links.setForItem(tx, { id: investigator.id, role: 'investigator', email: investigator.email, displayName: 'i', tokenId: 't' } as never,
          { id: photo, caseId, sha256: row!.sha256, incidentId: null }, incidentId, 'depicts_munition'),
      );
      const incident = await as(investigator).get(`/incidents/${incidentId}`);
      expect(incident.body.evidence).toEqual(expect.arrayContaining([{ evidenceId: photo, role: 'depicts_munition' }, { evidenceId: witness, role: 'witness_account' }]));
      expect(incident.body.evidenceIds).toHaveLength(2);
    });

    it('a documenter links only items they submitted', async () => {
      const own = (await submit(t, documenter, caseId, randomBytes(64), {})).body.id as string;
      const refused = expectProblem(await as(documenter).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: photo }] })), 422);
      expect(refused.errors!.map((e) => e.field)).toEqual(['evidence[0].evidenceId']);
      const reported = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: own, role: 'depicts_aftermath' }] }));
      expect(reported.status).toBe(201);
      expect((await as(documenter).get(`/evidence/${own}`)).body.incidentId).toBe(reported.body.id);
    });
  });

  it("a documenter's item linked by an investigator to an incident they did not report shows no link to them", async () => {
    const own = (await submit(t, documenter, caseId, randomBytes(64), {})).body.id as string;
    const theirs = await as(investigator).post(`/cases/${caseId}/incidents`, strike({ title: 'Investigators’ incident', evidence: [{ evidenceId: own, role: 'depicts_casualty' }] }));
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201);
    expect((await as(investigator).get(`/evidence/${own}`)).body).toMatchObject({ incidentId: theirs.body.id, incidentRole: 'depicts_casualty' });
    for (const seen of [(await as(documenter).get(`/evidence/${own}`)).body, (await as(documenter).get(`/cases/${caseId}/evidence`)).body.items.find((i: { id: string }) => i.id === own)]) {
      expect(seen).toMatchObject({ id: own, incidentId: null, incidentRole: null });
      expect(JSON.stringify(seen)).not.toContain(theirs.body.id);
    }
    // Nor does a search by that incident find it (an investigator's does).
    const byIncident = async (user: TestUser) => (await as(user).get(`/cases/${caseId}/evidence?incidentId=${theirs.body.id}`)).body.items.map((i: { id: string }) => i.id);
    expect(await byIncident(documenter)).toEqual([]);
    expect(await byIncident(investigator)).toEqual([own]);
    // An archive upgraded to the column learns who linked from the log (the migration's backfill).
    await t.db.superuserQuery(`UPDATE evidence_items SET incident_linked_by = NULL WHERE id = $1`, [own]);
    await t.db.superuserQuery(LINKED_BY_FROM_THE_LOG);
    const [linked] = await t.db.superuserQuery<{ incident_linked_by: string }>(`SELECT incident_linked_by FROM evidence_items WHERE id = $1`, [own]);
    expect(linked!.incident_linked_by).toBe(investigator.id);
    // Linked to an incident they reported, it shows.
    const another = (await submit(t, documenter, caseId, randomBytes(64), {})).body.id as string;
    const reported = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: another, role: 'depicts_aftermath' }] }));
    expect(reported.status, JSON.stringify(reported.body)).toBe(201);
    expect((await as(documenter).get(`/evidence/${another}`)).body).toMatchObject({ incidentId: reported.body.id, incidentRole: 'depicts_aftermath' });
    expect((await as(documenter).get(`/cases/${caseId}/evidence?incidentId=${reported.body.id}`)).body.items.map((i: { id: string }) => i.id)).toEqual([another]);
  });

  it('a documenter relates their incident only to incidents they reported: any other is refused as an unknown id is', async () => {
    const others = await as(investigator).post(`/cases/${caseId}/incidents`, strike({ title: 'An investigator’s incident' }));
    expect(others.status).toBe(201);
    const refusals = [];
    for (const incidentId of [others.body.id, randomUUID()]) {
      const res = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ relatedIncidents: [{ incidentId, relation: 'follows' }] }));
      refusals.push({ status: res.status, errors: expectProblem(res, 422).errors?.map((e) => ({ field: e.field, message: e.message })) });
    }
    expect(refusals[0]).toEqual(refusals[1]);
    const first = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ title: 'First strike' }));
    const second = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ title: 'Second strike', relatedIncidents: [{ incidentId: first.body.id, relation: 'follows' }] }));
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.relatedIncidents).toEqual([{ incidentId: first.body.id, relation: 'follows' }]);
    // A relation an investigator adds to an incident they cannot read is not shown to them.
    const related = [{ incidentId: first.body.id, relation: 'follows' }, { incidentId: others.body.id, relation: 'part_of' }];
    expect((await as(investigator).patch(`/incidents/${second.body.id}`, { relatedIncidents: related, reason: 'same night' })).body.relatedIncidents).toEqual(related);
    for (const seen of [(await as(documenter).get(`/incidents/${second.body.id}`)).body, (await as(documenter).get(`/cases/${caseId}/incidents`)).body.items.find((i: { id: string }) => i.id === second.body.id)]) {
      expect(seen.relatedIncidents).toEqual([{ incidentId: first.body.id, relation: 'follows' }]);
      expect(JSON.stringify(seen)).not.toContain(others.body.id);
    }
  });

  it("a documenter's own incident shows them their own items and the figures as entered, not others' items or what casualty records hold", async () => {
    const own = (await submit(t, documenter, caseId, randomBytes(64), {})).body.id as string;
    const reported = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ killed: 1, evidence: [{ evidenceId: own, role: 'depicts_aftermath' }] }));
    expect(reported.status, JSON.stringify(reported.body)).toBe(201);
    const id = reported.body.id as string;
    // An investigator links their own item to it and records two casualties.
    expect((await as(investigator).patch(`/evidence/${witness}`, { incidentId: id, incidentRole: 'witness_account' })).status).toBe(200);
    for (const harmStatus of ['killed', 'killed']) expect((await as(investigator).post(`/incidents/${id}/casualties`, { harmStatus })).status).toBe(201);
    const full = (await as(investigator).get(`/incidents/${id}`)).body;
    expect(full).toMatchObject({ killed: { min: 2, max: 2 }, figuresSource: 'casualty_records' });
    expect(full.evidenceIds).toEqual(expect.arrayContaining([own, witness]));
    for (const seen of [(await as(documenter).get(`/incidents/${id}`)).body, (await as(documenter).get(`/cases/${caseId}/incidents`)).body.items.find((i: { id: string }) => i.id === id)]) {
      expect(seen).toMatchObject({ killed: full.entered.killed, figuresSource: 'entered', evidenceIds: [own], evidence: [{ evidenceId: own, role: 'depicts_aftermath' }] });
      expect(seen.killed).not.toEqual(full.killed);
      expect(JSON.stringify(seen)).not.toContain(witness);
    }
  });

  describe('roles per route', () => {
    beforeAll(async () => {
      casualtyId = (await as(investigator).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'injured' })).body.id;
      damageId = (await as(investigator).post(`/incidents/${incidentId}/damage`, { damageLevel: 'moderate' })).body.id;
      expect(casualtyId && damageId).toBeTruthy();
    });

    // [method, what, path, body, statuses for: admin, investigator, documenter, auditor, non-member investigator]
    const routes: [string, string, () => string, unknown, number[]][] = [
      ['POST', 'report an incident', () => `/cases/${caseId}/incidents`, strike(), [201, 201, 201, 403, 404]],
      ['GET', 'list incidents', () => `/cases/${caseId}/incidents`, undefined, [200, 200, 200, 403, 404]],
      ['GET', "read someone else's incident", () => `/incidents/${incidentId}`, undefined, [200, 200, 404, 403, 404]],
      ['PATCH', 'amend an incident', () => `/incidents/${incidentId}`, { placeName: 'Харків', reason: 'geolocated' }, [200, 200, 403, 403, 404]],
      ['POST', 'record a casualty', () => `/incidents/${incidentId}/casualties`, { harmStatus: 'killed' }, [201, 201, 403, 403, 404]],
      ['GET', 'list casualties', () => `/incidents/${incidentId}/casualties`, undefined, [200, 200, 403, 403, 404]],
      ['PATCH', 'amend a casualty', () => `/casualties/${casualtyId}`, { status: 'corroborated', reason: 'second source' }, [200, 200, 403, 403, 404]],
      ['POST', 'record damage', () => `/incidents/${incidentId}/damage`, { damageLevel: 'severe' }, [201, 201, 403, 403, 404]],
      ['GET', 'list damage', () => `/incidents/${incidentId}/damage`, undefined, [200, 200, 403, 403, 404]],
      ['PATCH', 'amend damage', () => `/damage/${damageId}`, { damageLevel: 'destroyed', reason: 'collapsed' }, [200, 200, 403, 403, 404]],
      ['GET', 'incidents.geojson', () => `/cases/${caseId}/incidents.geojson`, undefined, [200, 200, 403, 403, 404]],
      ['GET', 'casualties.csv', () => `/cases/${caseId}/casualties.csv`, undefined, [200, 200, 403, 403, 404]],
      ['GET', 'vocabularies', () => `/vocabularies`, undefined, [200, 200, 200, 200, 200]],
      ['GET', 'a vocabulary', () => `/vocabularies/grade`, undefined, [200, 200, 200, 200, 200]],
    ];

    it.each(routes)('%s: %s', async (method, _name, path, body, expected) => {
      const callers = [t.admin, investigator, documenter, auditor, outsider];
      const got: number[] = [];
      for (const user of callers) {
        const call = as(user);
        const res = method === 'GET' ? await call.get(path()) : method === 'POST' ? await call.post(path(), body) : await call.patch(path(), body);
        if (res.status >= 400) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        got.push(res.status);
      }
      expect(got).toEqual(expected);
      const url = `/api/v1${path()}`;
      const anonymous = method === 'GET' ? await t.http.get(url) : method === 'POST' ? await t.http.post(url).send(body as object) : await t.http.patch(url).send(body as object);
      expect(anonymous.status).toBe(401);
    });
  });

  it('GET /vocabularies: every vocabulary with en and uk labels, parent codes and deprecated flags', async () => {
    const res = await as(documenter).get('/vocabularies');
    expect(res.status).toBe(200);
    const byName = new Map<string, { vocabulary: string; version: number; terms: { code: string; parentCode: string | null; labels: Record<string, string>; deprecated: boolean }[] }>(
      res.body.map((v: { vocabulary: string }) => [v.vocabulary, v]),
    );
    for (const name of ['weapon_type', 'object_category', 'grade', 'harm_status', 'damage_level', 'evidence_link_role', 'source_reliability']) expect(byName.has(name), name).toBe(true);
    for (const vocabulary of byName.values()) {
      for (const term of vocabulary.terms) {
        expect(term.labels.en && term.labels.uk, `${vocabulary.vocabulary}.${term.code}`).toBeTruthy();
        expect(typeof term.deprecated).toBe('boolean');
        // Hierarchical codes: the parent is the code up to its last dot, and is a term itself.
        if (term.parentCode !== null) {
          expect(term.code.startsWith(`${term.parentCode}.`)).toBe(true);
          expect(vocabulary.terms.some((other) => other.code === term.parentCode)).toBe(true);
        }
      }
    }
    const weapons = byName.get('weapon_type')!;
    expect(weapons.terms.find((term) => term.code === 'uav.short_range.fpv')).toMatchObject({ parentCode: 'uav.short_range', labels: { en: 'FPV drone', uk: 'FPV-дрон' }, deprecated: false });
    expect(weapons.terms.find((term) => term.code === 'uav')?.parentCode).toBeNull();
    expectProblem(await as(documenter).get('/vocabularies/Weapon-Type'), 400);
    expectProblem(await t.http.get('/api/v1/vocabularies'), 401);
  });
});
