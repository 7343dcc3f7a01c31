import { describe, expect, it } from 'vitest';
import { anyPlaceCondition, greatCircleMetres, overlapConditions, searchText, sqlParams, zonelessWindow, ZONELESS_WINDOW_MS } from './listing.js';

describe('greatCircleMetres', () => {
  it('matches known great-circle distances', () => {
    // Kyiv (Maidan) to Kharkiv (Freedom Square): about 409 km.
    expect(greatCircleMetres({ lat: 50.4501, lon: 30.5234 }, { lat: 49.9935, lon: 36.2304 }) / 1000).toBeCloseTo(409, -1);
    // Across the antimeridian: 0.2 degrees of longitude at the equator, about 22.2 km.
    expect(greatCircleMetres({ lat: 0, lon: 179.9 }, { lat: 0, lon: -179.9 }) / 1000).toBeCloseTo(22.24, 1);
    expect(greatCircleMetres({ lat: 89.9, lon: 0 }, { lat: 89.9, lon: 180 }) / 1000).toBeCloseTo(22.24, 1);
  });
});

describe('searchText', () => {
  it('folds Cyrillic and Latin by Unicode rules, and stems Ukrainian and Russian nouns', () => {
    expect(searchText('ХАРКІВ', null, 'Школа', 'SCHOOL')).toBe(searchText('харкові', 'школі', 'school'));
  });
});

describe('zonelessWindow', () => {
  it('spans the clock read in UTC+14 to the clock read in UTC-12, 26 hours', () => {
    expect(zonelessWindow('2008-05-30T15:56:01')).toEqual({ from: new Date('2008-05-30T01:56:01Z'), to: new Date('2008-05-31T03:56:01Z') });
    expect(zonelessWindow('2008-05-30T15:56:01.250')).toEqual({ from: new Date('2008-05-30T01:56:01.250Z'), to: new Date('2008-05-31T03:56:01.250Z') });
    expect(ZONELESS_WINDOW_MS).toBe(26 * 3_600_000);
  });

  it('is null for what is not a zone-less wall-clock time', () => {
    for (const value of ['2008-05-30T15:56:01Z', '2008-05-30T15:56:01+02:00', '2008-05-30', 'yesterday', '2008-13-40T99:00:00']) {
      expect(zonelessWindow(value), value).toBeNull();
    }
  });
});

describe('overlapConditions', () => {
  it('bounds the interval start on both sides, so one index range scan finds every overlap', () => {
    const { params, p } = sqlParams();
    const where = overlapConditions('t.a', 't.b', { from: new Date('2020-01-02T00:00:00Z'), to: new Date('2020-01-03T00:00:00Z') }, 3_600_000, p);
    expect(where).toEqual(['t.b >= $1', 't.a >= $2', 't.a <= $3']);
    expect(params).toEqual([new Date('2020-01-02T00:00:00Z'), new Date('2020-01-01T23:00:00Z'), new Date('2020-01-03T00:00:00Z')]);
    expect(overlapConditions('t.a', 't.b', { from: null, to: null }, 1, sqlParams().p)).toEqual([]);
  });
});

describe('anyPlaceCondition', () => {
  it('ORs the conditions of each position, each on its own columns', () => {
    const { p } = sqlParams();
    const [condition, ...rest] = anyPlaceCondition(
      [{ lat: 'x.a_lat', lon: 'x.a_lon' }, { lat: 'x.b_lat', lon: 'x.b_lon' }],
      { minLon: 1, minLat: 2, maxLon: 3, maxLat: 4 },
      null,
      p,
    );
    expect(rest).toEqual([]);
    expect(condition).toMatch(/^\(\(x\.a_lat IS NOT NULL AND point\(x\.a_lon, x\.a_lat\) <@ .*\) OR \(x\.b_lat IS NOT NULL AND point\(x\.b_lon, x\.b_lat\) <@ .*\)\)$/);
    expect(anyPlaceCondition([{ lat: 'a', lon: 'b' }], null, null, p)).toEqual([]);
  });
});
