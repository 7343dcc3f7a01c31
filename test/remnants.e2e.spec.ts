import { parse } from 'csv-parse/sync';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustodyLog } from '../libs/custody/src/index.js';
import { germanTankEstimate } from '../libs/records/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { submit } from './support/evidence.js';
import { cliVerify, download, makeExport, run, unpack } from './support/exports.js';
import { PYTHON } from './support/python.js';

/**
 * Munition remnants (issue 14) over HTTP: records with every vocabulary-bound field checked,
 * the serial parsed, marking search through partial, mixed-script and mis-read text, the
 * object's hand-overs as custody events, the serial analysis, roles, and the exports.
 */
describe('munition remnants (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let otherCaseId: string;
  let incidentId: string;
  let documenterIncidentId: string;
  let photo: string;
  let documenterPhoto: string;
  let foreignPhoto: string;
  let airframeId: string;
  let receiverId: string;

  const as = (user: TestUser) => ({
    get: (p: string) => t.http.get(`/api/v1${p}`).auth(user.token, { type: 'bearer' }),
    post: (p: string, body: unknown) => t.http.post(`/api/v1${p}`).auth(user.token, { type: 'bearer' }).send(body as object),
    patch: (p: string, body: unknown) => t.http.patch(`/api/v1${p}`).auth(user.token, { type: 'bearer' }).send(body as object),
  });
  const count = async (table: string, where = 'true') => (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`))[0]!.n;
  /** A remnant record as the application stores one with nothing entered. */
  const EMPTY_RECORD = {
    weaponType: null, component: null, description: null, markings: [], serialNumber: null, serialParts: null, manufacturer: null, countryOfOrigin: null,
    attribution: null, condition: null, measurements: null, recoveredAt: null, recoveredBy: null, location: null, sources: [], status: 'reported',
  };
  const eventsAbout = async (id: string) =>
    (await t.db.superuserQuery<{ event_bytes: Buffer }>(`SELECT event_bytes FROM custody_events WHERE subject_id = $1 ORDER BY leaf_index`, [id])).map(
      (row) => JSON.parse(row.event_bytes.toString('utf8')) as { action: string; actor: { id: string }; subject: { sha256?: string }; details: Record<string, unknown>; reason?: string },
    );
  const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((item) => item.id).sort();

  const airframe = {
    weaponType: 'uav.owa.shahed_136',
    component: 'airframe',
    description: 'Tail section with stencilled markings',
    markings: [
      { text: 'Ш136.02.345', location: 'tail boom, left side', method: 'painted' },
      { text: 'ОТК 7', location: 'inside the wing root', method: 'stamped' },
    ],
    serialNumber: 'Ш136.02.345',
    attribution: { producer: 'Alabuga SEZ, Yelabuga', basis: 'marking', basisNote: 'Ш-prefixed serial of the Russian production', confidence: 'medium' },
    condition: 'fragment',
    recoveredAt: '2026-11-20T06:30:00+02:00',
    recoveredBy: 'SES pyrotechnic team, Kharkiv',
    location: { lat: 50.0268, lon: 36.3458 },
    status: 'examined',
  };

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    documenter = await t.user('documenter');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    caseId = (await as(investigator).post('/cases', { title: 'Kharkiv, November' })).body.id;
    otherCaseId = (await as(investigator).post('/cases', { title: 'Elsewhere' })).body.id;
    for (const user of [documenter, auditor]) expect((await as(investigator).post(`/cases/${caseId}/members`, { userId: user.id })).status).toBe(201);
    const item = async (user: TestUser, inCase: string) => {
      const res = await submit(t, user, inCase, randomBytes(64), { metadata: { title: 'markings with a scale' } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    photo = await item(investigator, caseId);
    documenterPhoto = await item(documenter, caseId);
    foreignPhoto = await item(investigator, otherCaseId);
    const strike = { type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00', location: { lat: 50.0268, lon: 36.3458 } };
    incidentId = (await as(investigator).post(`/cases/${caseId}/incidents`, { ...strike, title: 'Удар по Салтівці' })).body.id;
    documenterIncidentId = (await as(documenter).post(`/cases/${caseId}/incidents`, { ...strike, title: 'Reported from the field' })).body.id;
  });
  afterAll(async () => t?.close());

  it('serves munition_component as a hierarchical vocabulary with en and uk labels, beside the other remnant vocabularies', async () => {
    const res = await as(documenter).get('/vocabularies/munition_component');
    expect(res.status).toBe(200);
    const terms = res.body.terms as { code: string; parentCode: string | null; labels: { en: string; uk: string } }[];
    expect(terms.find((term) => term.code === 'navigation.gnss_receiver')).toMatchObject({ parentCode: 'navigation', labels: { en: 'GNSS receiver', uk: 'Приймач ГНСС' } });
    expect(terms.find((term) => term.code === 'airframe')?.parentCode).toBeNull();
    for (const term of terms) expect(term.labels.uk).toMatch(/[а-яіїєґ]/i);
    const all = (await as(documenter).get('/vocabularies')).body.map((v: { vocabulary: string }) => v.vocabulary);
    expect(all).toEqual(expect.arrayContaining(['munition_component', 'marking_method', 'remnant_condition', 'remnant_status', 'remnant_identification_basis']));
  });

  it('records a remnant with its serial parsed, in one custody event with the record hash', async () => {
    const res = await as(investigator).post(`/incidents/${incidentId}/remnants`, { ...airframe, sources: [{ evidenceId: photo, reliability: 'reliable' }], reason: 'found at the site' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    airframeId = res.body.id;
    expect(res.body).toMatchObject({
      incidentId,
      caseId,
      serialNumber: 'Ш136.02.345',
      serialParts: { scheme: 'geran2_airframe', prefix: 'Ш136', series: '02', number: 345 },
      markings: [{ text: 'Ш136.02.345', location: 'tail boom, left side', method: 'painted' }, { text: 'ОТК 7', method: 'stamped' }],
      recoveredAt: '2026-11-20T04:30:00.000Z',
      status: 'examined',
      unsourced: false,
      physicalCustody: [],
      createdBy: investigator.id,
    });
    const [event] = await eventsAbout(airframeId);
    expect(event).toMatchObject({ action: 'remnant.recorded', actor: { id: investigator.id }, reason: 'found at the site', details: { incidentId, previousSha256: null, serialScheme: 'geran2_airframe' } });
    expect(event!.subject.sha256).toBe(event!.details['newSha256']);

    const receiver = await as(investigator).post(`/incidents/${incidentId}/remnants`, {
      weaponType: 'uav.owa.shahed_136',
      component: 'navigation.gnss_receiver',
      markings: [{ text: 'NEO-M8N-0-10', method: 'printed_circuit' }, { text: 'MADE IN CHINA', method: 'label' }, { text: '中国制造', method: 'label' }],
      manufacturer: { name: 'u-blox', basis: 'part_number', confidence: 'high' },
      countryOfOrigin: { country: 'CH', basis: 'datasheet', basisNote: 'u-blox AG, Thalwil', confidence: 'high' },
      condition: 'damaged',
    });
    expect(receiver.status, JSON.stringify(receiver.body)).toBe(201);
    receiverId = receiver.body.id;
    expect(receiver.body).toMatchObject({ serialParts: null, status: 'reported', unsourced: true, countryOfOrigin: { country: 'CH', basis: 'datasheet' } });
  });

  it('checks every vocabulary-bound field (422 naming each) and stores nothing on a refusal', async () => {
    const before = [await count('remnants'), await count('custody_events')];
    const wrongCodes = expectProblem(
      await as(investigator).post(`/incidents/${incidentId}/remnants`, {
        weaponType: 'uav.owa.shahed_999',
        component: 'navigation.radar',
        markings: [{ text: 'Ш136', method: 'chalked' }],
        manufacturer: { name: 'x', basis: 'guess', confidence: 'certain' },
        countryOfOrigin: { country: 'US', basis: 'rumour', confidence: 'very_high' },
        attribution: { producer: 'y', basis: 'hunch', confidence: 'total' },
        condition: 'pristine',
        status: 'published',
        sources: [{ evidenceId: photo, reliability: 'gospel' }],
      }),
      422,
    );
    expect(wrongCodes.errors!.map((e) => e.field).sort()).toEqual(
      [
        'attribution.basis',
        'attribution.confidence',
        'component',
        'condition',
        'countryOfOrigin.basis',
        'countryOfOrigin.confidence',
        'manufacturer.basis',
        'manufacturer.confidence',
        'markings[0].method',
        'sources[0].reliability',
        'status',
        'weaponType',
      ].sort(),
    );
    expect(wrongCodes.errors!.find((e) => e.field === 'component')!.message).toMatch(/munition_component/);
    // Well-formed but wrong values: a country that is no ISO code, a future recovery, evidence of another case.
    const wrongValues = expectProblem(
      await as(investigator).post(`/incidents/${incidentId}/remnants`, {
        countryOfOrigin: { country: 'usa' },
        recoveredAt: '2099-01-01T00:00:00Z',
        sources: [{ evidenceId: foreignPhoto }],
      }),
      422,
    );
    expect(wrongValues.errors!.map((e) => e.field).sort()).toEqual(['countryOfOrigin.country', 'recoveredAt']);
    const foreign = expectProblem(await as(investigator).post(`/incidents/${incidentId}/remnants`, { sources: [{ evidenceId: foreignPhoto }] }), 422);
    expect(foreign.errors).toEqual([{ field: 'sources[0].evidenceId', message: expect.any(String) }]);
    // Malformed: unknown fields, wrong types, a marking without text.
    const malformed = expectProblem(await as(investigator).post(`/incidents/${incidentId}/remnants`, { serial: 'Ш136', markings: [{ method: 'painted' }], location: 'Kharkiv' }), 400);
    expect(malformed.errors!.map((e) => e.field).sort()).toEqual(['location', 'markings[0].text', 'serial']);
    expectProblem(await as(investigator).patch(`/remnants/${airframeId}`, { condition: 'fragment' }), 422);
    expectProblem(await as(investigator).patch(`/remnants/${airframeId}`, { component: 'wing', reason: 'x' }), 422);
    expect([await count('remnants'), await count('custody_events')]).toEqual(before);
  });

  it('amends with a reason: the serial is parsed again, one remnant.updated event names the changed fields', async () => {
    const res = await as(investigator).patch(`/remnants/${airframeId}`, { serialNumber: 'Ш136.02.346', reason: 'the last digit re-read under a lamp' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.serialParts).toEqual({ scheme: 'geran2_airframe', prefix: 'Ш136', series: '02', number: 346 });
    expect(res.body.markings).toHaveLength(2);
    const events = await eventsAbout(airframeId);
    expect(events.map((e) => e.action)).toEqual(['remnant.recorded', 'remnant.updated']);
    expect(events[1]).toMatchObject({ reason: 'the last digit re-read under a lamp', details: { fields: ['serialNumber', 'serialParts'], previousSha256: events[0]!.details['newSha256'] } });
    // Nothing changed: nothing recorded.
    expect((await as(investigator).patch(`/remnants/${airframeId}`, { serialNumber: 'Ш136.02.346', reason: 'again' })).status).toBe(200);
    expect(await eventsAbout(airframeId)).toHaveLength(2);
  });

  describe('marking search', () => {
    let mixedId: string;
    beforeAll(async () => {
      // Written by someone who typed Latin look-alikes and mis-read a zero.
      const res = await as(investigator).post(`/incidents/${incidentId}/remnants`, {
        weaponType: 'uav.owa.shahed_136',
        component: 'airframe',
        markings: [{ text: 'W136.O2.512 (written as read)' }],
        serialNumber: 'W136.O2.512',
      });
      expect(res.status).toBe(201);
      mixedId = res.body.id;
      expect(res.body.serialParts).toEqual({ scheme: 'geran2_airframe', prefix: 'Ш136', series: '02', number: 512 });
    });
    const search = async (query: string) => {
      const res = await as(investigator).get(`/cases/${caseId}/remnants?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return ids(res);
    };

    it('finds Ш136.02 from Ш136, whatever the script, case, separators or look-alike digits of the query', async () => {
      const both = [airframeId, mixedId].sort();
      for (const q of ['Ш136', 'Ш136.02', 'ш136', 'W136', 'w 136-02', 'Ш136.О2', 'Ш136 02 3', '136.02']) {
        expect(await search(`q=${encodeURIComponent(q)}`), q).toEqual(q === 'Ш136 02 3' ? [airframeId] : both);
      }
      // Latin and Cyrillic look-alikes in one query, and in the marking: МАDЕ (Cyrillic М, А, Е) finds MADE.
      expect(await search(`q=${encodeURIComponent('МАDЕ IN СHINA')}`)).toEqual([receiverId]);
      expect(await search(`q=${encodeURIComponent('neo-m8n')}`)).toEqual([receiverId]);
      expect(await search(`q=${encodeURIComponent('中国')}`)).toEqual([receiverId]);
      // Cyrillic text typed in Latin look-alikes: ОТК as OTK.
      expect(await search('q=OTK')).toEqual([airframeId]);
      // Not everything matches: another model, a number not on any part, a wildcard taken literally.
      for (const q of ['Ш131', '136.03', '13%2', 'ш136.02.999']) expect(await search(`q=${encodeURIComponent(q)}`), q).toEqual([]);
    });

    it('filters by serial prefix, weapon type and component (with their narrower codes), together', async () => {
      expect(await search(`serialPrefix=${encodeURIComponent('W136.02')}`)).toEqual([airframeId, mixedId].sort());
      expect(await search(`serialPrefix=${encodeURIComponent('Ш136-02-34')}`)).toEqual([airframeId]);
      expect(await search('serialPrefix=136')).toEqual([]);
      expect(await search('weaponType=uav')).toEqual([airframeId, mixedId, receiverId].sort());
      expect(await search('weaponType=missile')).toEqual([]);
      expect(await search('component=navigation')).toEqual([receiverId]);
      expect(await search(`component=airframe&q=${encodeURIComponent('512')}`)).toEqual([mixedId]);
      expect(await search(`incidentId=${documenterIncidentId}`)).toEqual([]);
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants?component=wing`), 400);
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants?colour=red`), 400);
    });

    it('pages by cursor without losing or repeating a remnant: latest first, or in serial order with a serial prefix', async () => {
      for (const filter of ['', `serialPrefix=${encodeURIComponent('ш136')}&`]) {
        const all = await search(`${filter}limit=200`);
        const paged: string[] = [];
        const serials: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await as(investigator).get(`/cases/${caseId}/remnants?${filter}limit=1${cursor ? `&cursor=${cursor}` : ''}`);
          expect(res.status).toBe(200);
          paged.push(...ids(res));
          serials.push(...res.body.items.map((item: { serialNumber: string }) => item.serialNumber));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(paged.length).toBeGreaterThanOrEqual(2);
        expect([...paged].sort()).toEqual(all);
        expect(new Set(paged).size).toBe(paged.length);
        if (filter) expect(serials).toEqual(['Ш136.02.346', 'W136.O2.512']);
      }
      // A cursor of one kind of search is refused by the other.
      const first = await as(investigator).get(`/cases/${caseId}/remnants?limit=1`);
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants?serialPrefix=W136&cursor=${first.body.nextCursor}`), 400);
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants?cursor=bm90LWEtY3Vyc29y`), 400);
      // Punctuation alone is not searched: refused, where it matched every remnant.
      for (const [key, value] of [['serialPrefix', "'"], ['serialPrefix', '('], ['q', '\\'], ['q', ' - . '], ['q', '%']]) {
        const refused = expectProblem(await as(investigator).get(`/cases/${caseId}/remnants?${key}=${encodeURIComponent(value!)}`), 400);
        expect(refused.errors).toEqual([{ field: key, message: 'must hold a letter or a digit (separators and punctuation are not searched)' }]);
      }
    });

    it('answers a fragment matching more than 2000 remnants, and rarer ones among them, latest first', async () => {
      const elsewhere = (await as(investigator).post(`/cases/${otherCaseId}/incidents`, { title: 'Many', type: 'air_drone_strike', startAt: '2026-11-01T00:00:00Z' })).body.id;
      await t.db.superuserQuery(
        `INSERT INTO remnants (incident_id, case_id, record, created_by)
         SELECT $1, $2, $4::jsonb || jsonb_build_object('markings', jsonb_build_array(jsonb_build_object('text', 'FALLBACK-' || lpad(n::text, 5, '0'), 'location', NULL, 'method', NULL))), $3
           FROM generate_series(1, 2100) AS n`,
        [elsewhere, otherCaseId, investigator.id, JSON.stringify(EMPTY_RECORD)],
      );
      const latest = (await t.db.superuserQuery<{ id: string }>(`SELECT id FROM remnants WHERE case_id = $1 ORDER BY created_at DESC, id DESC LIMIT 3`, [otherCaseId])).map((r) => r.id);
      const page = await as(investigator).get(`/cases/${otherCaseId}/remnants?q=fa11back&limit=3`);
      expect(page.body.items.map((i: { id: string }) => i.id)).toEqual(latest);
      const next = await as(investigator).get(`/cases/${otherCaseId}/remnants?q=fa11back&limit=3&cursor=${page.body.nextCursor}`);
      expect(next.body.items).toHaveLength(3);
      expect(next.body.items.map((i: { id: string }) => i.id)).not.toContain(latest[2]);
      const rare = await as(investigator).get(`/cases/${otherCaseId}/remnants?q=${encodeURIComponent('FALLBACK-00042')}`);
      expect(rare.body.items.map((i: { markings: { text: string }[] }) => i.markings[0]!.text)).toEqual(['FALLBACK-00042']);
      const some = await as(investigator).get(`/cases/${otherCaseId}/remnants?q=${encodeURIComponent('FALLBACK-001')}&limit=200`);
      expect(some.body.items).toHaveLength(100);
      expect(some.body.items[0].markings[0].text).toBe('FALLBACK-00199');
    });

    it('folds in the database one way for stored markings and queries', async () => {
      const [row] = await t.db.superuserQuery<Record<string, string>>(
        `SELECT marking_skeleton('Ш136.О2.345') AS a, marking_skeleton('w136 02-345') AS b, marking_skeleton('ＡБВ') AS c, marking_skeleton('Жук') AS d`,
      );
      expect(row).toEqual({ a: 'w13602345', b: 'w13602345', c: 'a68', d: 'жyk' });
    });
  });

  describe('hand-overs of the object', () => {
    it('records each hand-over as a remnant.transferred event, and shows the chain with who held it until when', async () => {
      const first = await as(investigator).post(`/remnants/${airframeId}/transfers`, {
        holder: 'SES pyrotechnic team, Kharkiv',
        place: 'SES depot, Kharkiv',
        from: '2026-11-20T07:00:00+02:00',
        note: 'bag sealed, seal 004512',
      });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      const second = await as(investigator).post(`/remnants/${airframeId}/transfers`, {
        holder: 'Kharkiv Research Institute of Forensic Examination',
        place: 'Laboratory store, room 12',
        from: '2026-11-22T10:00:00+02:00',
        reason: 'sent for examination',
      });
      expect(second.status).toBe(201);
      expect(second.body.physicalCustody).toEqual([
        expect.objectContaining({ holder: 'SES pyrotechnic team, Kharkiv', from: '2026-11-20T05:00:00.000Z', to: '2026-11-22T08:00:00.000Z', note: 'bag sealed, seal 004512' }),
        expect.objectContaining({ holder: 'Kharkiv Research Institute of Forensic Examination', from: '2026-11-22T08:00:00.000Z', to: null, recordedBy: investigator.id }),
      ]);
      const transfers = (await eventsAbout(airframeId)).filter((e) => e.action === 'remnant.transferred');
      // The events name no holder (they travel into partner copies); each binds its hand-over
      // by the SHA-256 of the period's fields in RFC 8785 form (string values, sorted keys).
      const periods = second.body.physicalCustody as { transferId: string; holder: string; place: string; from: string; note: string | null; recordedBy: string }[];
      const bound = (p: (typeof periods)[number]) => {
        const doc: Record<string, string | null> = { id: p.transferId, remnantId: airframeId, holder: p.holder, place: p.place, from: p.from, note: p.note, recordedBy: p.recordedBy };
        const sorted = Object.fromEntries(Object.keys(doc).sort().map((key) => [key, doc[key]]));
        return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
      };
      expect(transfers.map(detailsOf)).toEqual([
        { incidentId, transferId: periods[0]!.transferId, place: 'SES depot, Kharkiv', from: '2026-11-20T05:00:00.000Z', transferSha256: bound(periods[0]!) },
        { incidentId, transferId: periods[1]!.transferId, place: 'Laboratory store, room 12', from: '2026-11-22T08:00:00.000Z', transferSha256: bound(periods[1]!) },
      ]);
      expect(transfers[1]!.reason).toBe('sent for examination');
      expect(JSON.stringify(transfers)).not.toContain('SES pyrotechnic team');
      expect((await as(investigator).get(`/remnants/${airframeId}`)).body.physicalCustody).toHaveLength(2);
    });

    it('lets auditors follow the chain and its events, never the record; refuses a hand-over out of order, storing nothing', async () => {
      const chain = await as(auditor).get(`/remnants/${airframeId}/transfers`);
      expect(chain.status).toBe(200);
      expect(chain.body.physicalCustody.map((p: { holder: string }) => p.holder)).toEqual(['SES pyrotechnic team, Kharkiv', 'Kharkiv Research Institute of Forensic Examination']);
      expect(chain.body.events.map((e: { action: string }) => e.action)).toEqual(['remnant.recorded', 'remnant.updated', 'remnant.transferred', 'remnant.transferred']);
      expect(JSON.stringify(chain.body)).not.toContain('Ш136');
      expectProblem(await as(auditor).get(`/remnants/${airframeId}`), 403);
      expectProblem(await as(auditor).get(`/cases/${caseId}/remnants`), 403);
      expectProblem(await as(documenter).get(`/remnants/${airframeId}/transfers`), 403);
      expectProblem(await as(outsider).get(`/remnants/${airframeId}/transfers`), 404);

      const before = [await count('remnant_transfers'), await count('custody_events')];
      const early = expectProblem(await as(investigator).post(`/remnants/${airframeId}/transfers`, { holder: 'Police', place: 'Station 3', from: '2026-11-21T00:00:00Z' }), 422);
      expect(early.errors).toEqual([{ field: 'from', message: expect.stringMatching(/before the last recorded hand-over/) }]);
      expectProblem(await as(investigator).post(`/remnants/${airframeId}/transfers`, { holder: 'Police', place: '', from: '2026-11-25T00:00:00Z' }), 400);
      expectProblem(await as(documenter).post(`/remnants/${airframeId}/transfers`, { holder: 'Me', place: 'Home', from: '2026-11-25T00:00:00Z' }), 403);
      expect([await count('remnant_transfers'), await count('custody_events')]).toEqual(before);
      // The table itself refuses to rewrite the chain.
      await expect(t.db.superuserQuery(`UPDATE remnant_transfers SET holder = 'someone else'`)).rejects.toThrow(/append-only/);
      await expect(t.db.superuserQuery(`DELETE FROM remnants WHERE id = $1`, [airframeId])).rejects.toThrow(/never deleted/);
    });
  });

  describe('roles', () => {
    let documenterRemnantId: string;

    it('a documenter reports a remnant on an incident they reported, as reported, citing only their own evidence', async () => {
      const res = await as(documenter).post(`/incidents/${documenterIncidentId}/remnants`, {
        component: 'warhead',
        markings: [{ text: 'ТГ-40' }],
        sources: [{ evidenceId: documenterPhoto }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      documenterRemnantId = res.body.id;
      expect(res.body.status).toBe('reported');
      expectProblem(await as(documenter).post(`/incidents/${documenterIncidentId}/remnants`, { status: 'confirmed' }), 403);
      expectProblem(await as(documenter).post(`/incidents/${incidentId}/remnants`, { component: 'warhead' }), 404);
      const others = expectProblem(await as(documenter).post(`/incidents/${documenterIncidentId}/remnants`, { sources: [{ evidenceId: photo }] }), 422);
      expect(others.errors).toEqual([{ field: 'sources[0].evidenceId', message: 'is not an evidence item of this case' }]);
      expectProblem(await as(documenter).patch(`/remnants/${documenterRemnantId}`, { status: 'confirmed', reason: 'x' }), 403);
    });

    it("a documenter's own remnant shows them neither where the object is kept nor others' items among its sources", async () => {
      expect((await as(investigator).post(`/remnants/${documenterRemnantId}/transfers`, { holder: 'Police evidence room', place: 'Station 3, safe 2', from: '2026-11-23T00:00:00Z' })).status).toBe(201);
      const cited = await as(investigator).patch(`/remnants/${documenterRemnantId}`, { sources: [{ evidenceId: documenterPhoto }, { evidenceId: photo }], reason: 'cites the lab photo' });
      expect(cited.status, JSON.stringify(cited.body)).toBe(200);
      const views = async (user: TestUser) => [
        (await as(user).get(`/remnants/${documenterRemnantId}`)).body,
        (await as(user).get(`/cases/${caseId}/remnants`)).body.items.find((r: { id: string }) => r.id === documenterRemnantId),
        (await as(user).get(`/incidents/${documenterIncidentId}/remnants`)).body.items.find((r: { id: string }) => r.id === documenterRemnantId),
      ];
      for (const view of await views(documenter)) {
        expect(view.physicalCustody).toBeNull();
        expect(view.sources.map((s: { evidenceId: string }) => s.evidenceId)).toEqual([documenterPhoto]);
      }
      for (const view of await views(investigator)) {
        expect(view.physicalCustody).toEqual([expect.objectContaining({ holder: 'Police evidence room', place: 'Station 3, safe 2' })]);
        expect(view.sources.map((s: { evidenceId: string }) => s.evidenceId)).toEqual([documenterPhoto, photo]);
      }
    });

    it('a documenter sees their own remnants only; investigators all; auditors none; outsiders nothing', async () => {
      expect((await as(documenter).get(`/remnants/${documenterRemnantId}`)).status).toBe(200);
      expectProblem(await as(documenter).get(`/remnants/${airframeId}`), 404);
      expect(ids(await as(documenter).get(`/cases/${caseId}/remnants`))).toEqual([documenterRemnantId]);
      expect(ids(await as(documenter).get(`/cases/${caseId}/remnants?q=${encodeURIComponent('Ш136')}`))).toEqual([]);
      expect(ids(await as(documenter).get(`/incidents/${documenterIncidentId}/remnants`))).toEqual([documenterRemnantId]);
      expectProblem(await as(documenter).get(`/incidents/${incidentId}/remnants`), 404);
      expect((await as(documenter).get(`/cases/${caseId}/remnants/serials`)).body.series).toEqual([]);
      expectProblem(await as(documenter).get(`/cases/${caseId}/remnants.csv`), 403);
      expect(ids(await as(investigator).get(`/incidents/${documenterIncidentId}/remnants`))).toEqual([documenterRemnantId]);
      expect((await as(investigator).patch(`/remnants/${documenterRemnantId}`, { status: 'examined', reason: 'seen at the lab' })).status).toBe(200);
      expectProblem(await as(auditor).get(`/incidents/${incidentId}/remnants`), 403);
      expectProblem(await as(auditor).post(`/incidents/${incidentId}/remnants`, {}), 403);
      for (const p of [`/remnants/${airframeId}`, `/cases/${caseId}/remnants`, `/cases/${caseId}/remnants/serials`, `/incidents/${incidentId}/remnants`]) {
        expectProblem(await as(outsider).get(p), 404);
      }
      expectProblem(await t.http.get(`/api/v1/remnants/${airframeId}`), 401);
    });
  });

  describe('serial analysis', () => {
    it('per scheme and series: the serials seen over time and the German tank estimate with its interval, per month, with the method', async () => {
      // Series 02: 346 and 512 so far (November); one seen in October, two more in November.
      const more: [string, string][] = [
        ['Ш136.02.101', '2026-10-15T03:00:00Z'],
        ['ш136-02-830', '2026-11-28T22:00:00Z'],
        ['Ш136.02.512', '2026-11-30T01:00:00Z'], // the same airframe number seen again: one observation
        ['Ш136.07.12', '2026-11-25T02:00:00Z'],
      ];
      for (const [serialNumber, recoveredAt] of more) {
        const res = await as(investigator).post(`/incidents/${incidentId}/remnants`, { weaponType: 'uav.owa.shahed_136', component: 'airframe', serialNumber, recoveredAt });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
      }
      const res = await as(investigator).get(`/cases/${caseId}/remnants/serials?weaponType=uav.owa`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.method).toMatch(/m \+ m\/k - 1/);
      expect(res.body.confidence).toBe(0.95);
      const [s02, s07] = res.body.series;
      expect(s02).toMatchObject({ weaponType: 'uav.owa.shahed_136', scheme: 'geran2_airframe', prefix: 'Ш136', series: '02', schemeBasis: expect.stringMatching(/Assumed/) });
      expect(s02.serials.map((s: { number: number }) => s.number)).toEqual([101, 346, 512, 512, 830]);
      expect(s02.estimate).toEqual(germanTankEstimate([101, 346, 512, 830]));
      expect(s02.estimate).toMatchObject({ k: 4, m: 830, estimate: 1036.5, lower: 830 });
      expect(s02.months.map((m: { month: string; seen: number; estimate: { k: number; m: number } }) => [m.month, m.seen, m.estimate.k, m.estimate.m])).toEqual([
        ['2026-10', 1, 1, 101],
        // The mis-read W136.O2.512 has no recovery time: it was seen at its incident's start.
        ['2026-11', 3, 4, 830],
      ]);
      expect(s07).toMatchObject({ series: '07', estimate: { k: 1, m: 12, estimate: 23, upper: 240 } });
      expect((await as(investigator).get(`/cases/${caseId}/remnants/serials?scheme=geran1_airframe`)).body.series).toEqual([]);
      expect((await as(investigator).get(`/cases/${caseId}/remnants/serials?weaponType=missile`)).body.series).toEqual([]);
      expect((await as(investigator).get(`/cases/${caseId}/remnants/serials?confidence=0.9`)).body.series[0].estimate.upper).toBe(
        germanTankEstimate([101, 346, 512, 830], 0.9)!.upper,
      );
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants/serials?scheme=t34_hull`), 400);
      expectProblem(await as(investigator).get(`/cases/${caseId}/remnants/serials?confidence=2`), 400);
    });
  });

  describe('exports', () => {
    it('remnants.csv: one row per remnant, with its serial parts and who holds it now', async () => {
      const res = await as(investigator).get(`/cases/${caseId}/remnants.csv`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="remnants-${caseId}.csv"`);
      const [header, ...rows] = parse(res.text) as string[][];
      const at = (row: string[], name: string) => row[header!.indexOf(name)];
      expect(rows).toHaveLength(await count('remnants', `case_id = '${caseId}'`));
      const row = rows.find((r) => r[0] === airframeId)!;
      expect([at(row, 'incidentCode'), at(row, 'serialNumber'), at(row, 'serialScheme'), at(row, 'serialSeries'), at(row, 'serialSequence')]).toEqual([
        'INC-0001',
        'Ш136.02.346',
        'geran2_airframe',
        '02',
        '346',
      ]);
      expect([at(row, 'markings'), at(row, 'producer'), at(row, 'currentHolder'), at(row, 'transfers')]).toEqual([
        'Ш136.02.345;ОТК 7',
        'Alabuga SEZ, Yelabuga',
        'Kharkiv Research Institute of Forensic Examination',
        '2',
      ]);
      expect(at(rows.find((r) => r[0] === receiverId)!, 'countryOfOrigin')).toBe('CH');
    });

    it('incidents.geojson: remnants as their own layer, at their recovery place or else their incident', async () => {
      const res = await as(investigator).get(`/cases/${caseId}/incidents.geojson`);
      expect(res.status).toBe(200);
      const features = JSON.parse(res.text).features as { id: string; geometry: { coordinates: number[] } | null; properties: Record<string, unknown> }[];
      const layer = (name: string) => features.filter((f) => f.properties['layer'] === name).map((f) => f.id);
      expect(layer('incidents').sort()).toEqual([incidentId, documenterIncidentId].sort());
      expect(layer('remnants')).toHaveLength(await count('remnants', `case_id = '${caseId}'`));
      const ours = features.find((f) => f.id === airframeId)!;
      expect(ours.geometry!.coordinates).toEqual([36.3458, 50.0268]);
      expect(ours.properties).toMatchObject({ positionFrom: 'recovery', incidentCode: 'INC-0001', serialScheme: 'geran2_airframe', currentHolder: 'Kharkiv Research Institute of Forensic Examination' });
      expect(features.find((f) => f.id === receiverId)!.properties['positionFrom']).toBe('incident');
      for (const f of features) for (const value of Object.values(f.properties)) expect(['string', 'number', 'boolean'].includes(typeof value) || value === null).toBe(true);
      const only = JSON.parse((await as(investigator).get(`/cases/${caseId}/incidents.geojson?layers=incidents`)).text).features;
      expect(only.every((f: { properties: { layer: string } }) => f.properties.layer === 'incidents')).toBe(true);
      expectProblem(await as(investigator).get(`/cases/${caseId}/incidents.geojson?layers=tanks`), 400);
    });

    it('a court package carries the remnants with their hand-overs, and their custody events with proofs', async () => {
      const done = await makeExport(t, investigator, caseId, { purpose: 'court', incidentIds: [incidentId] });
      const { zip, dir } = await download(t, investigator, done.id);
      const bag = await unpack(zip, path.join(dir, 'bag'));
      const remnants = JSON.parse(await readFile(path.join(bag, 'data/remnants.json'), 'utf8')) as { id: string; incidentId: string; physicalCustody: unknown[] }[];
      expect(remnants.every((r) => r.incidentId === incidentId)).toBe(true);
      expect(remnants.find((r) => r.id === airframeId)!.physicalCustody).toHaveLength(2);
      expect(remnants.find((r) => r.id === airframeId)!.physicalCustody).toEqual([
        expect.objectContaining({ holder: 'SES pyrotechnic team, Kharkiv' }),
        expect.objectContaining({ holder: 'Kharkiv Research Institute of Forensic Examination' }),
      ]);
      expect(remnants.map((r) => r.id)).not.toContain(undefined);
      const events = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
      const about = events.filter((e) => e.subject.id === airframeId).map((e) => e.action);
      expect(about).toEqual(['remnant.recorded', 'remnant.updated', 'remnant.transferred', 'remnant.transferred']);
      const manifest = await readFile(path.join(bag, 'manifest-sha256.txt'), 'utf8');
      expect(manifest).toMatch(/ {2}data\/remnants\.json$/m);
      // The photo cited by the remnant comes along with it.
      expect(manifest).toContain(`data/evidence/${photo}/record.json`);
    });

    it('a partner working copy names no one: hand-overs keep place and dates, holders and notes null, events naming a holder or giving a reason left out', async () => {
      // A hand-over recorded before its events stopped naming the holder: the log's signed
      // bytes cannot be redacted, so a partner copy leaves the event out (a court package keeps it).
      await t.app.get(DataSource).transaction((tx) =>
        t.app.get(CustodyLog).appendAll(tx, [
          {
            action: 'remnant.transferred',
            actor: { id: investigator.id, role: 'investigator' },
            caseId,
            subject: { type: 'remnant', id: airframeId },
            details: { incidentId, transferId: randomUUID(), holder: 'Сержант Іван Петренко', place: 'SES depot, Kharkiv', from: '2026-11-19T05:00:00.000Z', previousHolder: null },
          },
        ]),
      );
      const legacy = async (purpose: 'court' | 'partner') => {
        const done = await makeExport(t, investigator, caseId, { purpose, incidentIds: [incidentId] });
        const { zip, dir } = await download(t, investigator, done.id);
        const bag = await unpack(zip, path.join(dir, `bag-${purpose}`));
        const events = await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8');
        return { zip, bag, events, readme: await readFile(path.join(bag, 'README.txt'), 'utf8'), report: await readFile(path.join(bag, 'report.html'), 'utf8') };
      };
      const court = await legacy('court');
      expect(court.events).toContain('Сержант Іван Петренко');
      expect(court.readme).not.toContain('left out');

      const partner = await legacy('partner');
      const text = await readFile(path.join(partner.bag, 'data/remnants.json'), 'utf8');
      const remnants = JSON.parse(text) as { id: string; recoveredBy: unknown; physicalCustody: Record<string, unknown>[] }[];
      expect(remnants.find((r) => r.id === airframeId)!.physicalCustody).toEqual([
        expect.objectContaining({ holder: null, note: null, place: 'SES depot, Kharkiv', from: '2026-11-20T05:00:00.000Z', to: '2026-11-22T08:00:00.000Z', recordedBy: investigator.id }),
        expect.objectContaining({ holder: null, note: null, from: '2026-11-22T08:00:00.000Z', to: null }),
      ]);
      expect(remnants.flatMap((r) => r.physicalCustody.map((p) => [p['holder'], p['note']]))).toEqual(remnants.flatMap((r) => r.physicalCustody.map(() => [null, null])));
      expect(remnants.map((r) => r.recoveredBy)).toEqual(remnants.map(() => null));
      for (const name of ['Kharkiv Research Institute', 'SES pyrotechnic team', 'Сержант Іван Петренко', 'seal 004512']) {
        expect(text).not.toContain(name);
        expect(partner.events).not.toContain(name);
        expect(partner.report).not.toContain(name);
      }
      // No hand-over travels: the old one names its holder, the others hold the hash of their row
      // (holder and note included), as every event about a remnant, an incident or a damage record
      // holds the hash of the whole record; nor do the events carrying a free-text reason. All
      // are said to be left out.
      const actions = (jsonl: string) => jsonl.trim().split('\n').map((line) => JSON.parse(line) as { action: string; subject: { id: string } });
      const transfers = (jsonl: string) => actions(jsonl).filter((e) => e.subject.id === airframeId && e.action === 'remnant.transferred').length;
      expect([transfers(court.events), transfers(partner.events)]).toEqual([3, 0]);
      const courtLines = court.events.trim().split('\n');
      const partnerLines = new Set(partner.events.trim().split('\n'));
      const aboutRecords = (line: string) => ['remnant', 'incident', 'damage'].includes((JSON.parse(line) as { subject: { type: string } }).subject.type);
      const left = courtLines.filter((line) => line.includes('Сержант Іван Петренко') || 'reason' in JSON.parse(line) || aboutRecords(line));
      expect(left.length).toBeGreaterThan(1);
      expect(courtLines.filter((line) => !partnerLines.has(line))).toEqual(left);
      expect(partner.readme).toContain(`${left.length} custody event(s) left out: their signed bytes name the holder of a munition`);
      expect(partner.report).toContain('Custody events left out (they name a holder or the device a file came from, or carry a free-text reason)');
      expect(partner.report).toContain('Custody events left out (they hold the hash of a whole incident, damage or remnant record)');
      const verdict = await cliVerify([partner.zip]);
      expect(verdict.code, verdict.out).toBe(0);
      expect((await run(PYTHON, [path.join(partner.bag, 'verify_proofs.py'), partner.bag])).stdout).toContain('ALL CHECKS PASSED');
    });
  });
});
