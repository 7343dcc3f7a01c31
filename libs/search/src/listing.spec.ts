import { describe, expect, it } from 'vitest';
import { greatCircleMetres, ListingQuery, searchText } from './listing.js';

describe('greatCircleMetres', () => {
  it('matches known great-circle distances', () => {
    // Kyiv (Maidan) to Kharkiv (Freedom Square): about 409 km.
    expect(greatCircleMetres({ lat: 50.4501, lon: 30.5234 }, { lat: 49.9935, lon: 36.2304 }) / 1000).toBeCloseTo(409, -1);
    // Across the antimeridian: 0.2 degrees of longitude at the equator, about 22.2 km.
    expect(greatCircleMetres({ lat: 0, lon: 179.9 }, { lat: 0, lon: -179.9 }) / 1000).toBeCloseTo(22.24, 1);
    expect(greatCircleMetres({ lat: 89.9, lon: 0 }, { lat: 89.9, lon: 180 }) / 1000).toBeCloseTo(22.24, 1);
  });
});

describe('ListingQuery', () => {
  it('names every wrong parameter in one 400', () => {
    const read = new ListingQuery({ near: '91,0', bbox: '1,2,3', from: 'yesterday', limit: '0', cursor: 'zz', evil: '1' }, ['near', 'radiusM', 'bbox', 'from', 'to', 'limit', 'cursor']);
    read.near();
    read.bbox();
    read.timeRange();
    read.limit();
    read.cursor();
    let fields: string[] = [];
    try {
      read.done();
    } catch (error) {
      fields = (error as { fields: { field: string }[] }).fields.map((f) => f.field);
    }
    expect(fields.sort()).toEqual(['bbox', 'cursor', 'evil', 'from', 'limit', 'near']);
  });

  it('accepts good parameters', () => {
    const read = new ListingQuery({ near: '50.0,36.2', radiusM: '5000', bbox: '179,-10,-179,10' }, ['near', 'radiusM', 'bbox']);
    expect(read.near()).toEqual({ lat: 50, lon: 36.2, radiusM: 5000 });
    expect(read.bbox()).toEqual({ minLon: 179, minLat: -10, maxLon: -179, maxLat: 10 });
    expect(() => read.done()).not.toThrow();
  });
});

describe('searchText', () => {
  it('folds Cyrillic and Latin by Unicode rules', () => {
    expect(searchText('ХАРКІВ', null, 'Школа')).toBe('харків школа');
  });
});
