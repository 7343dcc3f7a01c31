import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalBytes } from '../libs/custody-core/src/index.js';
import { parse } from 'csv-parse/sync';
import { recordHash } from '../libs/records/src/index.js';
import { IncidentsRepository } from '../libs/records/src/incidents/incidents.repository.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { submit } from './support/evidence.js';

const NAME = 'Олена Ковальчук';
const VARIANT = 'Olena Kovalchuk';

describe('incidents, casualties and damage records (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let evidenceId: string;
  let incidentId: string;

  const as = (user: TestUser) => ({
    get: (path: string) => t.http.get(`/api/v1${path}`).auth(user.token, { type: 'bearer' }),
    post: (path: string, body: unknown) => t.http.post(`/api/v1${path}`).auth(user.token, { type: 'bearer' }).send(body as object),
    patch: (path: string, body: unknown) => t.http.patch(`/api/v1${path}`).auth(user.token, { type: 'bearer' }).send(body as object),
  });
  const strike = (extra: Record<string, unknown> = {}) => ({
    title: 'Удар шахедів по Салтівці',
    description: 'Нічна атака дронів на житлові будинки; a second strike hit first responders',
    type: 'air_drone_strike',
    startAt: '2026-11-20T01:40:00+02:00',
    endAt: '2026-11-20T02:10:00+02:00',
    datePrecision: 'exact',
    location: { lat: 50.0268, lon: 36.3458 },
    geoPrecision: 'vicinity',
    placeName: 'Харків, Салтівка',
    admin1: 'Харківська область',
    weapons: [{ weaponType: 'uav.owa.shahed_136', identificationBasis: 'remnants_examined', confidence: 'high' }],
    attributions: [{ actor: 'Russian Armed Forces', basis: 'weapon type and launch site', confidence: 'medium' }],
    grade: 'fair',
    killed: { min: 2, max: 4 },
    injured: 11,
    ...extra,
  });
  const events = (subjectId: string) =>
    t.db.superuserQuery<{ action: string; event: string }>(
      `SELECT action, convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE subject_id = $1 ORDER BY leaf_index`,
      [subjectId],
    );

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    documenter = await t.user('documenter');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    const created = await as(investigator).post('/cases', { title: 'Kharkiv strikes' });
    caseId = created.body.id;
    for (const user of [documenter, auditor]) expect((await as(investigator).post(`/cases/${caseId}/members`, { userId: user.id })).status).toBe(201);
    const evidence = await submit(t, investigator, caseId, randomBytes(64), { metadata: { title: 'aftermath' } });
    expect(evidence.status).toBe(201);
    evidenceId = evidence.body.id;
  });
  afterAll(async () => t?.close());

  it('serves vocabularies with English and Ukrainian labels to any signed-in user', async () => {
    const res = await as(auditor).get('/vocabularies/weapon_type');
    expect(res.status).toBe(200);
    const shahed = res.body.terms.find((term: { code: string }) => term.code === 'uav.owa.shahed_136');
    expect(shahed).toMatchObject({
      parentCode: 'uav.owa',
      labels: { en: 'Shahed-136 (Geran-2)', uk: 'Шахед-136 (Герань-2)' },
      attributes: { acledSubEventType: 'Air/drone strike' },
      deprecated: false,
    });
    for (const name of ['weapon_identification_basis', 'object_category', 'ihl_protection', 'damage_level', 'grade', 'harm_status',
      'civilian_status', 'sex', 'age_group', 'date_precision', 'geo_precision', 'source_reliability', 'incident_type',
      'verification_status', 'casualty_status', 'identification_status', 'damage_status', 'assessment_method', 'functionality',
      'evidence_link_role']) {
      const vocabulary = await as(documenter).get(`/vocabularies/${name}`);
      expect(vocabulary.status, name).toBe(200);
      for (const term of vocabulary.body.terms) expect(term.labels.en && term.labels.uk, `${name}.${term.code}`).toBeTruthy();
    }
    expectProblem(await as(investigator).get('/vocabularies/colours'), 404);
    expectProblem(await t.http.get('/api/v1/vocabularies/grade'), 401);
  });

  it('creates an incident, records incident.created with the hash of the record and the reason', async () => {
    const res = await as(investigator).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId, role: 'depicts_aftermath' }], reason: 'first report' }));
    expect(res.status).toBe(201);
    incidentId = res.body.id;
    expect(res.body).toMatchObject({
      caseId,
      code: 'INC-0001',
      startAt: '2026-11-19T23:40:00.000Z',
      location: { lat: 50.0268, lon: 36.3458 },
      killed: { min: 2, max: 4 },
      injured: { min: 11, max: 11 },
      verificationStatus: 'reported',
      evidenceIds: [evidenceId],
      figuresSource: 'entered',
      unsourced: false,
    });
    const log = await events(incidentId);
    expect(log.map((e) => e.action)).toEqual(['incident.created']);
    const event = JSON.parse(log[0]!.event);
    expect(event.reason).toBe('first report');
    expect(event.details.previousSha256).toBeNull();
    const [stored] = await t.db.superuserQuery<{ record: unknown }>(`SELECT record FROM incidents WHERE id = $1`, [incidentId]);
    expect(event.details.newSha256).toBe(recordHash(stored!.record));
    expect(canonicalBytes(stored!.record).length).toBeGreaterThan(0);
  });

  it('validates vocabulary fields (422 naming field and vocabulary), ranges, coordinates and dates', async () => {
    const vocabulary = expectProblem(
      await as(investigator).post(`/cases/${caseId}/incidents`, strike({ type: 'bombing', weapons: [{ weaponType: 'uav.owa.shahed_999' }], grade: 'solid' })),
      422,
    );
    expect(vocabulary.errors).toEqual(expect.arrayContaining([
      { field: 'type', message: expect.stringContaining('incident_type') },
      { field: 'weapons[0].weaponType', message: expect.stringContaining('weapon_type') },
      { field: 'grade', message: expect.stringContaining('grade') },
    ]));
    const ranges = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ killed: { min: 5, max: 2 }, injured: -1 })), 422);
    expect(ranges.errors!.map((e) => e.field)).toEqual(expect.arrayContaining(['killed', 'injured']));
    const place = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ location: { lat: 91, lon: -181 } })), 422);
    expect(place.errors!.map((e) => e.field)).toEqual(['location.lat', 'location.lon']);
    const dates = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ endAt: '2026-11-19T00:00:00Z' })), 422);
    expect(dates.errors!.map((e) => e.field)).toEqual(['endAt']);
    const malformed = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ startAt: 'yesterday', colour: 'red', title: '' })), 400);
    expect(malformed.errors!.map((e) => e.field)).toEqual(expect.arrayContaining(['startAt', 'colour', 'title']));
    const links = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ evidence: [{ evidenceId: randomUUID(), role: 'witness_account' }] })), 422);
    expect(links.errors!.map((e) => e.field)).toEqual(['evidence[0].evidenceId']);
    // Wrong values the body shows by itself come first; then codes the vocabularies do not hold.
    const group = expectProblem(
      await as(investigator).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'killed', countingUnit: 'group', groupSize: { min: 3, max: 1 } }),
      422,
    );
    expect(group.errors!.map((e) => e.field)).toEqual(['groupSize']);
    const casualty = expectProblem(await as(investigator).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'dead', sex: 'x' }), 422);
    expect(casualty.errors!.map((e) => e.field)).toEqual(['harmStatus', 'sex']);
    const damage = expectProblem(await as(investigator).post(`/incidents/${incidentId}/damage`, { damageLevel: 'total', ihlProtection: ['school'] }), 422);
    expect(damage.errors).toEqual(expect.arrayContaining([
      { field: 'damageLevel', message: expect.stringContaining('damage_level') },
      { field: 'ihlProtection[0]', message: expect.stringContaining('ihl_protection') },
    ]));
    const rows = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM incidents`);
    expect(rows[0]!['n']).toBe(1);
  });

  it('refuses a deprecated code with 422', async () => {
    await t.db.superuserQuery(`UPDATE vocabulary_terms SET deprecated = true, version = 2 WHERE vocabulary = 'grade' AND code = 'weak'`);
    try {
      const res = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ grade: 'weak' })), 422);
      expect(res.errors).toEqual([{ field: 'grade', message: 'weak is deprecated in the grade vocabulary' }]);
    } finally {
      await t.db.superuserQuery(`UPDATE vocabulary_terms SET deprecated = false, version = 1 WHERE vocabulary = 'grade' AND code = 'weak'`);
    }
  });

  it('PATCH needs a reason, rechecks the whole record and logs one event with both hashes', async () => {
    expectProblem(await as(investigator).patch(`/incidents/${incidentId}`, { grade: 'confirmed' }), 422);
    expectProblem(await as(investigator).patch(`/incidents/${incidentId}`, { startAt: '2026-11-21T00:00:00Z', reason: 'later' }), 422);
    const before = await t.db.superuserQuery<{ record: unknown }>(`SELECT record FROM incidents WHERE id = $1`, [incidentId]);
    const res = await as(investigator).patch(`/incidents/${incidentId}`, { grade: 'confirmed', verificationStatus: 'verified', reason: 'remnants matched' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ grade: 'confirmed', verificationStatus: 'verified' });
    const log = await events(incidentId);
    expect(log.map((e) => e.action)).toEqual(['incident.created', 'incident.updated']);
    const event = JSON.parse(log[1]!.event);
    expect(event.reason).toBe('remnants matched');
    expect(event.details.fields).toEqual(['grade', 'verificationStatus']);
    expect(event.details.previousSha256).toBe(recordHash(before[0]!.record));
    // An unchanged PATCH records nothing.
    await as(investigator).patch(`/incidents/${incidentId}`, { grade: 'confirmed', reason: 'again' });
    expect(await events(incidentId)).toHaveLength(2);
  });

  it('documenters report incidents only as reported and read only those they reported; auditors and outsiders get nothing', async () => {
    expectProblem(await as(documenter).post(`/cases/${caseId}/incidents`, strike({ verificationStatus: 'verified' })), 403);
    const reported = await as(documenter).post(`/cases/${caseId}/incidents`, strike({ title: 'Reported from the field', location: undefined }));
    expect(reported.status).toBe(201);
    expect(reported.body.verificationStatus).toBe('reported');
    expect((await as(documenter).get(`/incidents/${reported.body.id}`)).status).toBe(200);
    // api.md: a documenter reads only the incidents they reported; anyone else's is not found.
    expectProblem(await as(documenter).get(`/incidents/${incidentId}`), 404);
    const listed = await as(documenter).get(`/cases/${caseId}/incidents`);
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([reported.body.id]);
    expect((await as(investigator).get(`/incidents/${reported.body.id}`)).status).toBe(200);
    expectProblem(await as(documenter).patch(`/incidents/${reported.body.id}`, { grade: 'weak', reason: 'x' }), 403);
    expectProblem(await as(documenter).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'killed' }), 403);
    for (const path of [`/incidents/${incidentId}/casualties`, `/incidents/${incidentId}/damage`, `/cases/${caseId}/incidents.geojson`, `/cases/${caseId}/casualties.csv`]) {
      expectProblem(await as(documenter).get(path), 403);
    }
    for (const path of [`/incidents/${incidentId}`, `/cases/${caseId}/incidents`, `/incidents/${incidentId}/casualties`, `/cases/${caseId}/casualties.csv`]) {
      expectProblem(await as(auditor).get(path), 403);
      expectProblem(await as(outsider).get(path), 404);
    }
  });

  it('seals casualty names, shows them to investigators only, and derives the incident figures', async () => {
    const individual = await as(investigator).post(`/incidents/${incidentId}/casualties`, {
      harmStatus: 'killed', fullName: NAME, nameVariants: [VARIANT], sex: 'female', ageGroup: 'adult', civilianStatus: 'civilian',
      sources: [{ evidenceId, reliability: 'reliable' }], reason: 'hospital list',
    });
    expect(individual.status).toBe(201);
    expect(individual.body).toMatchObject({ fullName: NAME, nameVariants: [VARIANT], unsourced: false, countingUnit: 'individual' });
    const group = await as(investigator).post(`/incidents/${incidentId}/casualties`, {
      harmStatus: 'injured', countingUnit: 'group', groupSize: { min: 5, max: 8 }, civilianStatus: 'civilian',
    });
    expect(group.status).toBe(201);
    expect(group.body.unsourced).toBe(true);

    const [raw] = await t.db.superuserQuery<{ record: unknown; names_sealed: Buffer }>(`SELECT record, names_sealed FROM casualties WHERE id = $1`, [individual.body.id]);
    expect(JSON.stringify(raw!.record)).not.toContain('Олена');
    expect(raw!.names_sealed.toString('utf8')).not.toContain('Олена');
    const log = await t.db.superuserQuery<{ event: string }>(`SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events`);
    expect(log.map((e) => e.event).join('\n')).not.toMatch(/Олена|Kovalchuk/);
    expect(t.logText()).not.toMatch(/Олена|Kovalchuk/);

    const incident = await as(investigator).get(`/incidents/${incidentId}`);
    expect(incident.body).toMatchObject({
      killed: { min: 1, max: 1 },
      injured: { min: 5, max: 8 },
      civilianKilled: { min: 1, max: 1 },
      figuresSource: 'casualty_records',
      entered: { killed: { min: 2, max: 4 } },
    });
    expect(incident.body.breakdown.killed.women).toBe(1);

    // Administrators read casualty records, never names; documenters neither.
    const adminView = await as(t.admin).get(`/incidents/${incidentId}/casualties`);
    expect(adminView.status).toBe(200);
    expect(adminView.body.items).toHaveLength(2);
    expect(JSON.stringify(adminView.body)).not.toMatch(/Олена|Kovalchuk|fullName/);
    expectProblem(await as(documenter).get(`/incidents/${incidentId}/casualties`), 403);
    const seen = await as(investigator).get(`/incidents/${incidentId}/casualties`);
    expect(seen.body.items[0]).toMatchObject({ fullName: NAME });
    // Nor do they write names: writing the right name again (a guess) and another are refused
    // alike, and nothing changes or is recorded.
    const before = await events(individual.body.id);
    for (const body of [{ fullName: NAME }, { fullName: 'Інше Ім’я' }, { fullName: null }, { nameVariants: [] }]) {
      const refused = expectProblem(await as(t.admin).patch(`/casualties/${individual.body.id}`, { ...body, reason: 'guess' }), 403);
      expect(refused.detail).toMatch(/names/);
    }
    expectProblem(await as(t.admin).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'killed', fullName: 'Someone' }), 403);
    expect((await as(t.admin).patch(`/casualties/${individual.body.id}`, { causeOfDeath: 'blast injuries', reason: 'without names' })).status).toBe(200);
    const listed = (await as(investigator).get(`/incidents/${incidentId}/casualties`)).body.items.find((c: { id: string }) => c.id === individual.body.id);
    expect(listed).toMatchObject({ fullName: NAME, nameVariants: [VARIANT], causeOfDeath: 'blast injuries' });
    expect((await events(individual.body.id)).length).toBe(before.length + 1);
    expect((await as(t.admin).get(`/incidents/${incidentId}/casualties`)).body.items).toHaveLength(2);

    const patched = await as(investigator).patch(`/casualties/${individual.body.id}`, { status: 'confirmed', fullName: 'Олена Петрівна Ковальчук', reason: 'ID document seen' });
    expect(patched.status).toBe(200);
    const casualtyLog = await events(individual.body.id);
    expect(casualtyLog.map((e) => e.action)).toEqual(['casualty.recorded', 'casualty.updated', 'casualty.updated']);
    const updated = JSON.parse(casualtyLog[2]!.event);
    expect(updated).toMatchObject({ reason: 'ID document seen', details: { fields: ['status'], namesChanged: true } });
    expect(casualtyLog.map((e) => e.event).join()).not.toContain('Ковальчук');
  });

  it('counts casualties by sex and age group, else by age or an age range, and keeps the breakdown entered beside the one derived', async () => {
    const entered = { killed: { men: 3, women: null, boys: null, girls: 1, childrenUnknownSex: null, adultsUnknownSex: null }, injured: null };
    // A case of its own: the casualty exports below count the first case's records.
    const ownCase = (await as(investigator).post('/cases', { title: 'Breakdown' })).body.id as string;
    const made = await as(investigator).post(`/cases/${ownCase}/incidents`, { title: 'Breakdown by age', type: 'shelling', startAt: '2026-11-25T10:00:00Z', breakdown: { killed: { men: 3, girls: 1 } } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body.id as string;
    expect(made.body).toMatchObject({ figuresSource: 'entered', breakdown: entered, entered: { breakdown: entered } });
    for (const casualty of [
      { harmStatus: 'killed', sex: 'male', age: 9 },
      { harmStatus: 'killed', sex: 'female', age: 17 },
      { harmStatus: 'killed', sex: 'female', age: 18 },
      { harmStatus: 'killed', age: 71 },
      { harmStatus: 'died_of_wounds', sex: 'male', ageGroup: 'elderly' },
      // A stated age group wins over the age; no age at all counts in no age column.
      { harmStatus: 'injured', sex: 'male', age: 16, ageGroup: 'adult' },
      { harmStatus: 'injured', sex: 'female' },
      { harmStatus: 'injured', countingUnit: 'group', groupSize: { min: 2, max: 3 } },
      // An age range wholly under 18 is a child, wholly over an adult; one across 18 is neither.
      { harmStatus: 'injured', sex: 'female', ageRange: { min: 30, max: 40 } },
      { harmStatus: 'injured', sex: 'male', ageRange: { min: 12, max: 17 } },
      { harmStatus: 'injured', sex: 'male', ageRange: { min: 15, max: 25 } },
      { harmStatus: 'injured', ageRange: { min: 18, max: 18 } },
    ]) expect((await as(investigator).post(`/incidents/${id}/casualties`, casualty)).status).toBe(201);
    const incident = (await as(investigator).get(`/incidents/${id}`)).body;
    expect(incident).toMatchObject({ figuresSource: 'casualty_records', killed: { min: 5, max: 5 }, injured: { min: 8, max: 9 }, entered: { breakdown: entered } });
    expect(incident.breakdown).toEqual({
      killed: { men: 1, women: 1, boys: 1, girls: 1, childrenUnknownSex: 0, adultsUnknownSex: 1 },
      injured: { men: 1, women: 1, boys: 1, girls: 0, childrenUnknownSex: 0, adultsUnknownSex: 1 },
    });
  });

  it('records and amends damage with UNOSAT levels', async () => {
    const res = await as(investigator).post(`/incidents/${incidentId}/damage`, {
      objectName: 'Житловий будинок, вул. Героїв Праці 7', objectCategory: 'residential.apartment', ihlProtection: ['civilian_object'],
      damageLevel: 'severe', assessmentMethod: 'field_visit', assessedAt: '2026-11-20T09:00:00Z', location: { lat: 50.027, lon: 36.346 },
      footprint: { type: 'Polygon', coordinates: [[[36.3459, 50.0269], [36.3462, 50.0269], [36.3462, 50.0271], [36.3459, 50.0269]]] },
      serviceImpact: { description: 'no heating in the block', counts: { householdsWithoutHeat: 120 } }, status: 'field_validated',
      sources: [{ evidenceId }],
    });
    expect(res.status).toBe(201);
    const patched = await as(investigator).patch(`/damage/${res.body.id}`, { damageLevel: 'destroyed', reason: 'collapsed overnight' });
    expect(patched.body.damageLevel).toBe('destroyed');
    expect((await events(res.body.id)).map((e) => e.action)).toEqual(['damage.recorded', 'damage.updated']);
    expect((await as(t.admin).get(`/incidents/${incidentId}/damage`)).body.items).toHaveLength(1);
    expectProblem(await as(investigator).patch(`/damage/${res.body.id}`, { damageLevel: 'severe' }), 422);
    expectProblem(await as(investigator).patch(`/damage/${res.body.id}`, { footprint: { type: 'Polygon', coordinates: [[[36.3, 50.0], [36.4, 50.0], [36.4, 50.1], [36.3, 50.2]]] }, reason: 'redrawn' }), 422);
    expect((await events(res.body.id)).map((e) => e.action)).toEqual(['damage.recorded', 'damage.updated']);
  });

  it('finds incidents by Ukrainian text, weapon type with descendants, time and place', async () => {
    const ids = async (query: string) => (await as(investigator).get(`/cases/${caseId}/incidents?${query}`)).body.items.map((i: { id: string }) => i.id);
    expect(await ids(`q=${encodeURIComponent('салтівка')}`)).toContain(incidentId);
    expect(await ids(`q=${encodeURIComponent('ХАРКІВ')}`)).toContain(incidentId);
    expect(await ids(`q=${encodeURIComponent('Одеса')}`)).toEqual([]);
    expect(await ids('weaponType=uav')).toContain(incidentId);
    expect(await ids('weaponType=uav.owa')).toContain(incidentId);
    expect(await ids('weaponType=missile')).toEqual([]);
    expect(await ids('from=2026-11-19T00:00:00Z&to=2026-11-20T00:00:00Z')).toContain(incidentId);
    expect(await ids('near=50.03,36.35&radiusM=1000')).toEqual([incidentId]);
    expect(await ids('bbox=36.2,49.9,36.5,50.1&grade=confirmed&verificationStatus=verified&type=air_drone_strike')).toEqual([incidentId]);
    expectProblem(await as(investigator).get(`/cases/${caseId}/incidents?weaponType=laser`), 400);
    // A mistyped code is refused naming each field, rather than finding nothing as if that were the answer.
    const typo = expectProblem(await as(investigator).get(`/cases/${caseId}/incidents?type=air_drone_strik&grade=confirmed&verificationStatus=verifed&weaponType=laser`), 400);
    expect(typo.errors).toEqual([
      { field: 'type', message: 'air_drone_strik is not a code of the incident_type vocabulary' },
      { field: 'verificationStatus', message: 'verifed is not a code of the verification_status vocabulary' },
      { field: 'weaponType', message: 'laser is not a code of the weapon_type vocabulary' },
    ]);
    const bad = expectProblem(await as(investigator).get(`/cases/${caseId}/incidents?bbox=1,2,3&from=x`), 400);
    expect(bad.errors!.map((e) => e.field)).toEqual(['bbox', 'from']);
    // Well-formed but wrong (out-of-range coordinates, from after to): 422 naming each.
    const wrong = expectProblem(await as(investigator).get(`/cases/${caseId}/incidents?near=91,0&bbox=0,0,200,1&from=2026-11-20T00:00:00Z&to=2026-11-19T00:00:00Z`), 422);
    expect(wrong.errors!.map((e) => e.field)).toEqual(['near', 'bbox', 'from']);
    // Years the database and the export formats cannot hold, as in bodies.
    const years = expectProblem(await as(investigator).get(`/cases/${caseId}/incidents?from=0000-06-01T00:00:00Z&to=9999-12-31T23:00:00-05:00`), 422);
    expect(years.errors).toEqual([
      { field: 'from', message: 'must lie in the years 0001 to 9999 (UTC)' },
      { field: 'to', message: 'must lie in the years 0001 to 9999 (UTC)' },
    ]);
    const first = await as(investigator).get(`/cases/${caseId}/incidents?limit=1`);
    expect(first.body.items).toHaveLength(1);
    const second = await as(investigator).get(`/cases/${caseId}/incidents?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
  });

  it('keeps codes unique per case, links related incidents of the same case, and pages through every incident once', async () => {
    expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ code: 'INC-0001' })), 409);
    const bad = expectProblem(await as(investigator).post(`/cases/${caseId}/incidents`, strike({ relatedIncidents: [{ incidentId: randomUUID(), relation: 'follows' }] })), 422);
    expect(bad.errors!.map((e) => e.field)).toEqual(['relatedIncidents[0].incidentId']);
    const doubleTap = await as(investigator).post(`/cases/${caseId}/incidents`, strike({
      title: 'Повторний удар', startAt: '2026-11-20T02:25:00+02:00', endAt: null, relatedIncidents: [{ incidentId, relation: 'follows' }],
    }));
    expect(doubleTap.status).toBe(201);
    expect(doubleTap.body.relatedIncidents).toEqual([{ incidentId, relation: 'follows' }]);
    expectProblem(await as(investigator).patch(`/incidents/${doubleTap.body.id}`, { code: 'INC-0001', reason: 'renumbered' }), 409);
    const self = expectProblem(await as(investigator).patch(`/incidents/${doubleTap.body.id}`, { relatedIncidents: [{ incidentId: doubleTap.body.id, relation: 'follows' }], reason: 'x' }), 422);
    expect(self.errors!.map((e) => e.field)).toEqual(['relatedIncidents[0].incidentId']);
    for (let n = 0; n < 5; n++) expect((await as(investigator).post(`/cases/${caseId}/incidents`, strike({ startAt: '2026-11-20T01:40:00+02:00' }))).status).toBe(201);
    const all = (await as(investigator).get(`/cases/${caseId}/incidents?limit=200`)).body.items.map((i: { id: string }) => i.id);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await as(investigator).get(`/cases/${caseId}/incidents?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
    expect(new Set(paged).size).toBe(paged.length);
  });

  it('an incident given the code the archive is choosing for another at that moment: the chosen one is made, the given one refused naming its code', async () => {
    const created = await as(investigator).post('/cases', { title: 'codes at once' });
    const codesCase = created.body.id as string;
    const incidents = t.app.get(IncidentsRepository);
    const nextCode = incidents.nextCode.bind(incidents);
    let given: Promise<{ status: number; body: { detail?: string; code?: string } }> | undefined;
    const spy = vi.spyOn(incidents, 'nextCode').mockImplementationOnce(async (tx, caseId) => {
      const code = await nextCode(tx, caseId);
      // Another request gives that very code now, while this one has chosen it.
      given = as(investigator).post(`/cases/${codesCase}/incidents`, strike({ code })).then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return code;
    });
    const chosen = await as(investigator).post(`/cases/${codesCase}/incidents`, strike());
    spy.mockRestore();
    expect(chosen.status, JSON.stringify(chosen.body)).toBe(201);
    expect(chosen.body.code).toBe('INC-0001');
    const other = await given!;
    expect(other.status).toBe(409);
    expect(other.body.detail).toBe('The case already has an incident with the code INC-0001');
  });

  it('exports incidents as an RFC 7946 FeatureCollection with [lon, lat] points', async () => {
    expectProblem(await as(documenter).get(`/cases/${caseId}/incidents.geojson`), 403);
    const res = await as(investigator).get(`/cases/${caseId}/incidents.geojson`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/geo\+json/);
    const collection = JSON.parse(res.text);
    expect(collection.type).toBe('FeatureCollection');
    expect(collection.features.length).toBeGreaterThanOrEqual(2);
    for (const feature of collection.features) {
      expect(feature.type).toBe('Feature');
      expect(feature.geometry === null || feature.geometry.type === 'Point').toBe(true);
      for (const value of Object.values(feature.properties)) expect(['string', 'number', 'boolean'].includes(typeof value) || value === null).toBe(true);
    }
    const ours = collection.features.find((f: { id: string }) => f.id === incidentId);
    expect(ours.geometry.coordinates).toEqual([36.3458, 50.0268]);
    expect(ours.properties).toMatchObject({ code: 'INC-0001', weaponTypes: 'uav.owa.shahed_136', killedMin: 1 });
    expect(res.text).not.toContain('Олена');
  });

  it('exports casualties as RFC 4180 CSV; names only to investigators asking, and that download is logged', async () => {
    const plain = await as(t.admin).get(`/cases/${caseId}/casualties.csv`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toMatch(/^text\/csv/);
    const rows = (parse(plain.text) as string[][]);
    expect(rows[0]).toContain('harmStatus');
    expect(rows[0]).not.toContain('fullName');
    expect(rows).toHaveLength(3);
    expect(plain.text).not.toContain('Ковальчук');
    expectProblem(await as(documenter).get(`/cases/${caseId}/casualties.csv`), 403);
    expectProblem(await as(t.admin).get(`/cases/${caseId}/casualties.csv?includeNames=true`), 403);
    expectProblem(await as(investigator).get(`/cases/${caseId}/casualties.csv?includeNames=yes`), 400);

    const before = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM custody_events WHERE action = 'export.downloaded'`);
    const named = await as(investigator).get(`/cases/${caseId}/casualties.csv?includeNames=true`);
    const parsed = (parse(named.text) as string[][]);
    const header = parsed[0]!;
    const records = parsed.slice(1).map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]])));
    expect(records.map((r) => r['fullName'])).toContain('Олена Петрівна Ковальчук');
    expect(records.every((r) => Object.keys(r).length === header.length)).toBe(true);
    const after = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM custody_events WHERE action = 'export.downloaded'`);
    expect(after[0]!['n']).toBe(before[0]!['n'] + 1);
  });

  it("keeps how precise a casualty's dates are: given, amended, exported; a precision without its date or not in the vocabulary stores nothing", async () => {
    const count = async () => (await t.db.superuserQuery(`SELECT count(*)::int AS n FROM casualties WHERE incident_id = $1`, [incidentId]))[0]!['n'];
    const before = await count();
    const unknown = expectProblem(await as(investigator).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'died_of_wounds', dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'fortnight' }), 422);
    expect(unknown.errors).toEqual([{ field: 'dateOfDeathPrecision', message: expect.stringContaining('date_precision') }]);
    const alone = expectProblem(await as(investigator).post(`/incidents/${incidentId}/casualties`, { harmStatus: 'killed', dateOfHarmPrecision: 'month' }), 422);
    expect(alone.errors).toEqual([{ field: 'dateOfHarmPrecision', message: 'needs its date: give the date or clear both' }]);
    expect(await count()).toBe(before);

    // Hurt in the strike, died of the wounds some time in March: the month is what is known.
    const made = await as(investigator).post(`/incidents/${incidentId}/casualties`, {
      harmStatus: 'died_of_wounds', dateOfHarm: '2022-02-24', dateOfHarmPrecision: 'exact', dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'month', reason: 'hospital record',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ dateOfHarm: '2022-02-24', dateOfHarmPrecision: 'exact', dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'month' });
    const amended = await as(investigator).patch(`/casualties/${made.body.id}`, { dateOfDeathPrecision: 'approximate', reason: 'the family is not sure of the month' });
    expect(amended.status, JSON.stringify(amended.body)).toBe(200);
    expect(amended.body).toMatchObject({ dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'approximate' });
    expectProblem(await as(investigator).patch(`/casualties/${made.body.id}`, { dateOfDeath: null, reason: 'not known' }), 422);
    const listed = async () => (await as(investigator).get(`/incidents/${incidentId}/casualties`)).body.items.find((c: { id: string }) => c.id === made.body.id);
    expect(await listed()).toMatchObject({ dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'approximate' });

    const rows = parse((await as(investigator).get(`/cases/${caseId}/casualties.csv`)).text) as string[][];
    const header = rows[0]!;
    expect(header.slice(header.indexOf('dateOfHarm'), header.indexOf('causeOfDeath'))).toEqual(['dateOfHarm', 'dateOfHarmPrecision', 'dateOfDeath', 'dateOfDeathPrecision']);
    const row = rows.find((r) => r[0] === made.body.id)!;
    expect(row[header.indexOf('dateOfDeathPrecision')]).toBe('approximate');

    // A record stored before casualties had a precision reads as not said.
    await t.db.superuserQuery(`UPDATE casualties SET record = record - 'dateOfHarmPrecision' - 'dateOfDeathPrecision' WHERE id = $1`, [made.body.id]);
    expect(await listed()).toMatchObject({ dateOfHarm: '2022-02-24', dateOfHarmPrecision: null, dateOfDeathPrecision: null });
  });

  it('streams a large case in pages: 1,001 casualties of two incidents and 501 incidents, every row once, in order', async () => {
    const big = (await as(investigator).post('/cases', { title: 'A long war' })).body.id as string;
    const incidents: string[] = [];
    for (let start = 0; start < 501; start += 25) {
      const made = await Promise.all(
        Array.from({ length: Math.min(25, 501 - start) }, (_, i) =>
          as(investigator).post(`/cases/${big}/incidents`, strike({ title: `strike ${start + i}`, startAt: new Date(Date.UTC(2025, 0, 1) + (start + i) * 3_600_000).toISOString(), endAt: undefined })),
        ),
      );
      for (const res of made) {
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        incidents.push(res.body.id);
      }
    }
    // The earlier incident's records come first in the CSV (by incident start), each incident's as recorded.
    const [early, late] = [incidents[0]!, incidents[1]!];
    for (let start = 0; start < 1001; start += 25) {
      const made = await Promise.all(
        Array.from({ length: Math.min(25, 1001 - start) }, (_, i) =>
          as(investigator).post(`/incidents/${(start + i) % 2 === 0 ? late : early}/casualties`, { harmStatus: 'injured', causeOfDeath: null, age: (start + i) % 100 }),
        ),
      );
      for (const res of made) expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const csv = await as(investigator).get(`/cases/${big}/casualties.csv`);
    expect(csv.status).toBe(200);
    const rows = parse(csv.text) as string[][];
    expect(rows).toHaveLength(1002);
    const ids = rows.slice(1).map((row) => row[0]);
    expect(new Set(ids).size).toBe(1001);
    const incidentOf = rows.slice(1).map((row) => row[1]);
    expect(incidentOf.lastIndexOf(early)).toBeLessThan(incidentOf.indexOf(late));
    const stored = await t.db.superuserQuery<{ id: string }>(
      `SELECT c.id FROM casualties c JOIN incidents i ON i.id = c.incident_id WHERE c.case_id = $1 ORDER BY i.start_at, i.id, c.created_at, c.id`,
      [big],
    );
    expect(ids).toEqual(stored.map((row) => row.id));

    const geo = await as(investigator).get(`/cases/${big}/incidents.geojson`);
    expect(geo.status).toBe(200);
    const collection = JSON.parse(geo.text);
    expect(collection.type).toBe('FeatureCollection');
    expect(collection.features.map((f: { id: string }) => f.id)).toEqual(incidents);
  });
});
