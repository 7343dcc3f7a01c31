import { describe, expect, it } from 'vitest';
import { parseWith, z } from '#custodia/schema';
import { codeFilter, LISTING_FIELDS, readListingFilters } from './query-fields.js';

const Query = z.strictObject({ ...LISTING_FIELDS, type: codeFilter('a type') }).transform((raw, context) => ({ ...readListingFilters(raw, context), type: raw.type ?? null }));
const read = (query: Record<string, unknown>) => parseWith(Query, query, 'The query');
const fieldsOf = (query: Record<string, unknown>): string[] => {
  try {
    read(query);
    return [];
  } catch (error) {
    return (error as { fields: { field: string }[] }).fields.map((f) => f.field).sort();
  }
};

describe('listing query fields', () => {
  it('reads the shared parameters with their defaults', () => {
    expect(read({})).toEqual({ near: null, bbox: null, from: null, to: null, q: null, limit: 50, cursor: null, type: null });
    const parsed = read({ near: '50.0,36.2', radiusM: '500', bbox: '170,-10,-170,10', from: '2024-01-01T00:00:00+02:00', q: ' шахед ', limit: '10', type: 'air_drone_strike' });
    expect(parsed.near).toEqual({ lat: 50, lon: 36.2, radiusM: 500 });
    expect(parsed.bbox).toEqual({ minLon: 170, minLat: -10, maxLon: -170, maxLat: 10 });
    expect(parsed.from?.toISOString()).toBe('2023-12-31T22:00:00.000Z');
    expect(parsed.q).toBe('шахед');
    expect(parsed.limit).toBe(10);
  });

  it('names every wrong parameter in one 400: unknown and malformed ones first, then wrong values', () => {
    expect(fieldsOf({ near: '91,0', bbox: '1,2,3', from: '2024-01-01T00:00:00', limit: '0', cursor: 'nope', type: 'Bad Code', extra: '1' })).toEqual(['extra', 'type']);
    expect(fieldsOf({ near: '91,0', bbox: '1,2,3', from: '2024-01-01T00:00:00', limit: '0', cursor: 'nope' })).toEqual(['bbox', 'cursor', 'from', 'limit', 'near']);
    expect(fieldsOf({ radiusM: '10' })).toEqual(['radiusM']);
    expect(fieldsOf({ from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' })).toEqual(['from']);
    expect(fieldsOf({ q: ['a', 'b'] })).toEqual(['q']);
  });
});
