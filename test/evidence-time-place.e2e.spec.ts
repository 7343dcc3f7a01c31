// Time and place of evidence over real HTTP against the real database (issue 9, item 6):
// a camera time with no zone is a 26-hour window matched by overlap (`timeApproximate`), at
// both edges to the millisecond; exact instants match as before; nothing drops out of a time
// search; `locationSource=any|declared|embedded`; the declared offset is kept; a court
// package's time selection agrees with the listing.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSelection } from '../libs/exports/src/selection.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, fixture, submit } from './support/evidence.js';

interface Item {
  id: string;
  timeApproximate: boolean;
}

const KHARKIV = { lat: 49.9935, lon: 36.2304 };
const FLORENCE = { lat: 43.7743, lon: 11.2536 };

/** A small JPEG whose EXIF GPS says Florence, Tuscany (43.7743 N, 11.2536 E), and nothing else. */
async function tuscanyJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: '#7a6a55' } })
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '43/1 46/1 2748/100', GPSLongitudeRef: 'E', GPSLongitude: '11/1 15/1 1296/100' } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

describe('time and place search (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;

  const listItems = async (caseId: string, query: string, user: TestUser = investigator): Promise<Item[]> => {
    const res = await t.http.get(`/api/v1/cases/${caseId}/evidence?${query}`).set('Authorization', bearer(user));
    expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.items;
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator', 'Tamara');
    documenter = await t.user('documenter', 'Dmytro');
  });
  afterAll(async () => t?.close());

  describe('from/to', () => {
    let caseId: string;
    const ids: Record<string, string> = {};
    let untimedReceivedAt: string;
    // exif-nw-no-offset.jpg: camera clock 2008-05-30T15:56:01, no zone. Its instant lies between
    // that clock in UTC+14 and in UTC-12: [2008-05-30T01:56:01.000Z, 2008-05-31T03:56:01.000Z].
    const WINDOW_START = '2008-05-30T01:56:01.000Z';
    const WINDOW_END = '2008-05-31T03:56:01.000Z';

    const named = (...names: string[]) => names.map((n) => ids[n]!).sort();
    const found = async (query: string) => (await listItems(caseId, query)).map((i) => i.id).sort();

    beforeAll(async () => {
      caseId = await createCase(t, investigator, 'Time', [documenter]);
      const uploads: Array<[string, Buffer, Record<string, unknown>]> = [
        ['zoneless', fixture('exif-nw-no-offset.jpg'), {}],
        // The same zone-less photo, declared days later: found by its window and by its declared time.
        ['zonelessDeclaredLater', fixture('exif-nw-no-offset.jpg'), { capturedAt: '2008-06-10T12:00:00Z' }],
        ['exact', fixture('exif-ne-offset.jpg'), {}], // 2008-05-30T12:56:01.250Z (offset +03:00)
        ['declaredOnly', randomBytes(300), { capturedAt: '2008-05-29T12:00:00+03:00' }], // 09:00:00.000Z
        ['untimed', randomBytes(300), {}], // nothing says when: its receipt time
      ];
      for (const [name, file, metadata] of uploads) {
        const res = await submit(t, investigator, caseId, file, { metadata });
        expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(201);
        ids[name] = res.body.id;
        if (name === 'untimed') untimedReceivedAt = res.body.receivedAt;
      }
    });

    it.each([
      // The window's start (UTC+14): touching it is in, one millisecond before it is out.
      [`to=${WINDOW_START}`, ['zoneless', 'zonelessDeclaredLater', 'declaredOnly']],
      ['to=2008-05-30T01:56:00.999Z', ['declaredOnly']],
      // The window's end (UTC-12).
      [`from=${WINDOW_END}&to=2008-06-01T00:00:00Z`, ['zoneless', 'zonelessDeclaredLater']],
      ['from=2008-05-31T03:56:01.001Z&to=2008-06-01T00:00:00Z', []],
      // Far from the clock read as UTC, still inside the window.
      ['from=2008-05-30T02:00:00Z&to=2008-05-30T02:00:00Z', ['zoneless', 'zonelessDeclaredLater']],
      // Exact instants match exactly, as before.
      ['from=2008-05-30T12:56:01.250Z&to=2008-05-30T12:56:01.250Z', ['exact', 'zoneless', 'zonelessDeclaredLater']],
      ['from=2008-05-30T12:56:01.251Z&to=2008-05-30T12:59:00Z', ['zoneless', 'zonelessDeclaredLater']],
      ['from=2008-05-30T12:50:00Z&to=2008-05-30T12:56:01.249Z', ['zoneless', 'zonelessDeclaredLater']],
      ['from=2008-05-29T09:00:00.000Z&to=2008-05-29T09:00:00.000Z', ['declaredOnly']],
      ['from=2008-05-29T09:00:00.001Z&to=2008-05-29T12:00:00Z', []],
      // A declaration contradicting the file's time finds the item too (the camera's clock may be
      // the one that is wrong), to the millisecond.
      ['from=2008-06-10T11:00:00Z&to=2008-06-10T13:00:00Z', ['zonelessDeclaredLater']],
      ['from=2008-06-10T12:00:00Z', ['zonelessDeclaredLater', 'untimed']],
      ['to=2008-06-10T12:00:00Z&from=2008-06-10T11:00:00Z', ['zonelessDeclaredLater']],
      ['from=2008-06-10T12:00:00.001Z&to=2008-06-11T00:00:00Z', []],
      ['from=2008-06-09T00:00:00Z&to=2008-06-10T11:59:59.999Z', []],
      // The 2005 search of the issue finds nothing here, and nothing later drops out of a wide one.
      ['from=2005-01-01T00:00:00Z&to=2005-12-31T23:59:59Z', []],
      ['from=1800-01-01T00:00:00Z&to=2100-01-01T00:00:00Z', ['zoneless', 'zonelessDeclaredLater', 'exact', 'declaredOnly', 'untimed']],
    ])('%s', async (query, expected) => {
      expect(await found(query)).toEqual(named(...expected));
    });

    it('marks items matched through a zone-less window timeApproximate: true, the others false', async () => {
      const items = await listItems(caseId, 'from=2008-05-30T12:56:01.250Z&to=2008-05-30T12:56:01.250Z');
      const flags = Object.fromEntries(items.map((i) => [i.id, i.timeApproximate]));
      expect(flags).toEqual({ [ids['exact']!]: false, [ids['zoneless']!]: true, [ids['zonelessDeclaredLater']!]: true });
      // Every listed item carries it, with or without a time filter.
      for (const item of await listItems(caseId, '')) expect(typeof item.timeApproximate).toBe('boolean');
    });

    it('an item nothing dates is found by its receipt time', async () => {
      const at = Date.parse(untimedReceivedAt);
      const iso = (ms: number) => new Date(ms).toISOString();
      // received_at keeps microseconds; the answer shows milliseconds.
      expect(await found(`from=${iso(at)}&to=${iso(at + 1)}`)).toEqual(named('untimed'));
      expect(await found(`from=${iso(at + 1)}`)).toEqual([]);
      expect(await found(`to=${iso(at - 1)}`)).not.toContain(ids['untimed']);
    });

    it('cursor pages of a time search hold every match once', async () => {
      const all = await found('from=2008-05-30T00:00:00Z&to=2008-05-31T00:00:00Z');
      expect(all).toEqual(named('zoneless', 'zonelessDeclaredLater', 'exact'));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: { items: Item[]; nextCursor: string | null } } = await t.http
          .get(`/api/v1/cases/${caseId}/evidence?from=2008-05-30T00:00:00Z&to=2008-05-31T00:00:00Z&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          .set('Authorization', bearer(investigator));
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor && seen.length < 10);
      expect(seen.sort()).toEqual(all);
    });

    it('a court package selects by time as the listing does', async () => {
      const select = async (from: string, to: string) =>
        (await resolveSelection(t.dataSource.manager, caseId, { from, to })).evidenceIds.slice().sort();
      expect(await select(WINDOW_END, '2008-06-01T00:00:00Z')).toEqual(named('zoneless', 'zonelessDeclaredLater'));
      expect(await select('2008-05-31T03:56:01.001Z', '2008-06-01T00:00:00Z')).toEqual([]);
      expect(await select('2008-05-30T12:56:01.251Z', '2008-05-30T12:59:00Z')).toEqual(named('zoneless', 'zonelessDeclaredLater'));
      expect(await select('2008-06-10T11:00:00Z', '2008-06-10T13:00:00Z')).toEqual(named('zonelessDeclaredLater'));
      expect(await select('2008-06-10T12:00:00.001Z', '2008-06-11T00:00:00Z')).toEqual([]);
      const at = Date.parse(untimedReceivedAt);
      expect(await select(new Date(at).toISOString(), new Date(at + 1).toISOString())).toEqual(named('untimed'));
    });
  });

  describe('locationSource', () => {
    let caseId: string;
    const ids: Record<string, string> = {};
    const named = (...names: string[]) => names.map((n) => ids[n]!).sort();
    const found = async (query: string, user?: TestUser) => (await listItems(caseId, query, user)).map((i) => i.id).sort();

    beforeAll(async () => {
      caseId = await createCase(t, investigator, 'Places', [documenter]);
      const uploads: Array<[string, Buffer, Record<string, unknown>]> = [
        // Declared in Kharkiv, with a stale GPS tag from Tuscany.
        ['kharkivTuscany', await tuscanyJpeg(), { location: KHARKIV }],
        ['declaredKharkiv', randomBytes(300), { location: { lat: 49.99, lon: 36.23 } }],
        ['embeddedKyiv', fixture('exif.png'), {}], // 50.4501, 30.5234
        ['embeddedSydney', fixture('exif-se-digitized.jpg'), {}], // -33.856784, 151.215297
        ['nowhere', randomBytes(300), {}],
      ];
      for (const [name, file, metadata] of uploads) {
        const res = await submit(t, name === 'kharkivTuscany' ? documenter : investigator, caseId, file, { metadata });
        expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(201);
        ids[name] = res.body.id;
      }
      const kt = (await t.http.get(`/api/v1/evidence/${ids['kharkivTuscany']}`).set('Authorization', bearer(investigator))).body;
      expect(kt.extracted.location.lat).toBeCloseTo(FLORENCE.lat, 4);
      expect(kt.extracted.location.lon).toBeCloseTo(FLORENCE.lon, 4);
      expect(kt.flags).toContain('location_mismatch');
    });

    const nearKharkiv = `near=${KHARKIV.lat},${KHARKIV.lon}&radiusM=2000`;
    const nearFlorence = `near=${FLORENCE.lat},${FLORENCE.lon}&radiusM=2000`;
    it.each([
      [nearKharkiv, ['kharkivTuscany', 'declaredKharkiv']],
      [`${nearKharkiv}&locationSource=any`, ['kharkivTuscany', 'declaredKharkiv']],
      [`${nearKharkiv}&locationSource=declared`, ['kharkivTuscany', 'declaredKharkiv']],
      [`${nearKharkiv}&locationSource=embedded`, []],
      [nearFlorence, ['kharkivTuscany']],
      [`${nearFlorence}&locationSource=embedded`, ['kharkivTuscany']],
      [`${nearFlorence}&locationSource=declared`, []],
      ['bbox=36.1,49.9,36.4,50.1', ['kharkivTuscany', 'declaredKharkiv']],
      ['bbox=36.1,49.9,36.4,50.1&locationSource=declared', ['kharkivTuscany', 'declaredKharkiv']],
      ['bbox=36.1,49.9,36.4,50.1&locationSource=embedded', []],
      ['bbox=11,43.5,11.5,44', ['kharkivTuscany']],
      ['bbox=11,43.5,11.5,44&locationSource=embedded', ['kharkivTuscany']],
      ['bbox=11,43.5,11.5,44&locationSource=declared', []],
      ['bbox=-180,-90,180,90', ['kharkivTuscany', 'declaredKharkiv', 'embeddedKyiv', 'embeddedSydney']],
      ['bbox=-180,-90,180,90&locationSource=declared', ['kharkivTuscany', 'declaredKharkiv']],
      ['bbox=-180,-90,180,90&locationSource=embedded', ['kharkivTuscany', 'embeddedKyiv', 'embeddedSydney']],
      ['bbox=150,-40,-170,-30&locationSource=embedded', ['embeddedSydney']], // crosses the antimeridian
      ['bbox=150,-40,-170,-30&locationSource=declared', []],
      ['near=50,33&radiusM=400000', ['kharkivTuscany', 'declaredKharkiv', 'embeddedKyiv']],
      ['near=50,33&radiusM=400000&locationSource=embedded', ['embeddedKyiv']],
      ['near=50,33&radiusM=400000&locationSource=declared', ['kharkivTuscany', 'declaredKharkiv']],
    ])('%s', async (query, expected) => {
      expect(await found(query)).toEqual(named(...expected));
    });

    it('combines with the other filters, and a documenter still sees only their own', async () => {
      expect(await found(`${nearKharkiv}&mediaType=image/jpeg`)).toEqual(named('kharkivTuscany'));
      expect(await found(`${nearKharkiv}&flag=location_mismatch`)).toEqual(named('kharkivTuscany'));
      expect(await found(nearKharkiv, documenter)).toEqual(named('kharkivTuscany'));
      expect(await found(`${nearKharkiv}&locationSource=embedded`, documenter)).toEqual([]);
    });

    it.each([
      [`${nearKharkiv}&locationSource=gps`, 'must be one of any, declared, embedded'],
      [`${nearKharkiv}&locationSource=ANY`, 'must be one of any, declared, embedded'],
      [`${nearKharkiv}&locationSource=declared&locationSource=embedded`, 'must be given once'],
    ])('%s → 400 naming locationSource', async (query, message) => {
      const res = await t.http.get(`/api/v1/cases/${caseId}/evidence?${query}`).set('Authorization', bearer(investigator));
      const problem = expectProblem(res, 400);
      expect(problem.errors).toContainEqual({ field: 'locationSource', message });
    });

    it.each(['any', 'declared', 'embedded'])('locationSource=%s without near or bbox is accepted and has no effect (any is the default)', async (source) => {
      expect(await found(`locationSource=${source}`)).toEqual(await found(''));
      expect(await found(`locationSource=${source}`)).toHaveLength(5);
    });
  });

  describe('declared.capturedAtOffset', () => {
    let caseId: string;
    beforeAll(async () => {
      caseId = await createCase(t, investigator, 'Offsets');
    });

    it.each([
      ['2026-11-20T01:10:00+02:00', '2026-11-19T23:10:00.000Z', '+02:00'],
      ['2026-11-20T01:10:00.5-03:30', '2026-11-20T04:40:00.500Z', '-03:30'],
      ['2026-11-20T07:10:00+05:45', '2026-11-20T01:25:00.000Z', '+05:45'],
      ['2026-11-20T01:10:00+00:00', '2026-11-20T01:10:00.000Z', '+00:00'],
      // UTC with the local offset unknown (RFC 9557): no offset is invented.
      ['2026-11-20T01:10:00Z', '2026-11-20T01:10:00.000Z', null],
      ['2026-11-20T01:10:00-00:00', '2026-11-20T01:10:00.000Z', null],
    ])('%s → capturedAt %s, capturedAtOffset %s, on every read', async (declared, utc, offset) => {
      const res = await submit(t, investigator, caseId, randomBytes(200), { metadata: { capturedAt: declared } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.declared).toEqual({ capturedAt: utc, capturedAtOffset: offset, location: null });
      const got = await t.http.get(`/api/v1/evidence/${res.body.id}`).set('Authorization', bearer(investigator));
      expect(got.body.declared).toEqual({ capturedAt: utc, capturedAtOffset: offset, location: null });
      const listed = (await listItems(caseId, '')).find((i) => i.id === res.body.id) as unknown as { declared: unknown };
      expect(listed.declared).toEqual({ capturedAt: utc, capturedAtOffset: offset, location: null });
      const [row] = await t.db.superuserQuery(`SELECT declared_captured_offset FROM evidence_items WHERE id = $1`, [res.body.id]);
      expect(row).toEqual({ declared_captured_offset: offset });
    });

    it('is null when nothing was declared, and is part of what was received: it never changes', async () => {
      const res = await submit(t, investigator, caseId, randomBytes(200));
      expect(res.body.declared).toEqual({ capturedAt: null, capturedAtOffset: null, location: null });
      await expect(t.db.superuserQuery(`UPDATE evidence_items SET declared_captured_offset = '+01:00' WHERE id = $1`, [res.body.id])).rejects.toThrow(
        /never changes/,
      );
    });
  });
});
