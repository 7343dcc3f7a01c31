import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '#custodia/db';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { parseWith } from '#custodia/schema';
import { greatCircleMetres as greatCircleM } from '#custodia/search';
import { IncidentQuery } from './incident.schema.js';
import { incidentConditions } from './incidents.repository.js';

const parseIncidentQuery = (raw: Record<string, string>): IncidentQuery => parseWith(IncidentQuery, raw, 'The query');

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('incident place search against a brute-force great-circle computation', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let caseId: string;
  const points: { id: string; lat: number; lon: number }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 2 });
    await ds.initialize();
    const [user] = await ds.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('geo@test', 'geo', 'investigator', 'x') RETURNING id`);
    const [row] = await ds.query(`INSERT INTO cases (title, created_by) VALUES ('geo', $1) RETURNING id`, [user.id]);
    caseId = row.id;
    const rand = random(20261124);
    const lats: number[] = [];
    const lons: number[] = [];
    for (let i = 0; i < 4000; i++) {
      let lat: number;
      let lon: number;
      const kind = i % 4;
      if (kind === 0) {
        lat = (Math.asin(2 * rand() - 1) * 180) / Math.PI; // uniform on the sphere
        lon = rand() * 360 - 180;
      } else if (kind === 1) {
        lat = rand() * 40 - 20; // a band across the antimeridian
        lon = rand() < 0.5 ? 180 - rand() * 5 : -180 + rand() * 5;
      } else if (kind === 2) {
        lat = (rand() < 0.5 ? 1 : -1) * (80 + rand() * 10); // polar caps
        lon = rand() * 360 - 180;
      } else {
        lat = 50 + rand() * 0.2; // a city (Kharkiv)
        lon = 36.2 + rand() * 0.3;
      }
      lats.push(lat);
      lons.push(lon);
    }
    const ids: { id: string }[] = await ds.query(
      `INSERT INTO incidents (case_id, code, record, type, start_at, lat, lon, verification_status, created_by)
       SELECT $1, 'G' || n, '{}', 'air_drone_strike', now() - n * interval '1 minute', lat, lon, 'reported', $2
         FROM unnest($3::float8[], $4::float8[]) WITH ORDINALITY AS p(lat, lon, n) ORDER BY n RETURNING id`,
      [caseId, user.id, lats, lons],
    );
    ids.forEach((r, i) => points.push({ id: r.id, lat: lats[i]!, lon: lons[i]! }));
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const conditions = (query: IncidentQuery) => incidentConditions({ ...query, caseId, reportedBy: null, weaponTypes: null });
  const found = async (query: IncidentQuery): Promise<Set<string>> => {
    const { where, params } = conditions(query);
    const rows: { id: string }[] = await ds.query(`SELECT i.id FROM incidents i WHERE ${where}`, params);
    return new Set(rows.map((r) => r.id));
  };

  it.each([
    ['Kharkiv, 5 km', 50.1, 36.35, 5_000],
    ['across the antimeridian', 0, 179.9, 400_000],
    ['across the antimeridian, west side', -10, -179.5, 300_000],
    ['around the north pole', 89.5, 10, 600_000],
    ['near the south pole', -86, -120, 700_000],
    ['half the globe', 20, -170, 10_000_000],
    ['almost all of it', -30, 60, 19_000_000],
  ])('near %s', async (_name, lat, lon, radiusM) => {
    const query = parseIncidentQuery({ near: `${lat},${lon}`, radiusM: String(radiusM) });
    const result = await found(query);
    let expected = 0;
    for (const p of points) {
      const d = greatCircleM({ lat, lon }, p);
      if (Math.abs(d - radiusM) < 0.01) continue; // on the edge: either answer is right
      expect(result.has(p.id), `${p.lat},${p.lon} at ${d} m`).toBe(d <= radiusM);
      if (d <= radiusM) expected++;
    }
    expect(expected).toBeGreaterThan(0);
  });

  it.each([
    ['crossing the antimeridian', '170,-10,-170,10'],
    ['high latitudes across the antimeridian', '150,80,-150,90'],
    ['the city', '36.25,50.05,36.4,50.15'],
    ['the whole world', '-180,-90,180,90'],
  ])('bbox %s', async (_name, bbox) => {
    const [minLon, minLat, maxLon, maxLat] = bbox.split(',').map(Number) as [number, number, number, number];
    const result = await found(parseIncidentQuery({ bbox }));
    const inside = (p: { lat: number; lon: number }) =>
      p.lat >= minLat && p.lat <= maxLat && (minLon <= maxLon ? p.lon >= minLon && p.lon <= maxLon : p.lon >= minLon || p.lon <= maxLon);
    const expected = points.filter(inside).map((p) => p.id).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect([...result].sort()).toEqual(expected);
  });

  it('uses the GiST index for places and the GIN index for text', async () => {
    await ds.query('ANALYZE incidents');
    const plan = async (raw: Record<string, string>) => {
      const { where, params } = conditions(parseIncidentQuery(raw));
      return ds.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        const rows: { 'QUERY PLAN': string }[] = await tx.query(`EXPLAIN SELECT i.id FROM incidents i WHERE ${where}`, params);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    };
    expect(await plan({ near: '50.1,36.35', radiusM: '5000' })).toContain('incidents_position_idx');
    expect(await plan({ q: 'Харків' })).toContain('incidents_search_idx');
  });
});
