import { describe, expect, it } from 'vitest';
import { parseWith, z } from '#custodia/schema';
import { codeFilter, LISTING_FIELDS, readListingFilters } from './query-fields.js';

const Query = z.strictObject({ ...LISTING_FIELDS, type: codeFilter('a type') }).transform((raw, context) => ({ ...readListingFilters(raw, context), type: raw.type ?? null }));
const read = (query: Record<string, unknown>) => parseWith(Query, query, 'The query');
const problemOf = (query: Record<string, unknown>): { status: number | null; fields: string[] } => {
  try {
    read(query);
    return { status: null, fields: [] };
  } catch (error) {
    const problem = error as { kind: string; fields: { field: string }[] };
    return { status: problem.kind === 'unprocessable' ? 422 : problem.kind === 'bad_request' ? 400 : -1, fields: problem.fields.map((f) => f.field).sort() };
  }
};
const fieldsOf = (query: Record<string, unknown>): string[] => problemOf(query).fields;

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

  it('names every malformed parameter in one 400: unknown and malformed ones first, then malformed values', () => {
    expect(fieldsOf({ near: '91,0', bbox: '1,2,3', from: '2024-01-01T00:00:00', limit: '0', cursor: 'nope', type: 'Bad Code', extra: '1' })).toEqual(['extra', 'type']);
    // near is well-formed but out of range (422): a malformed parameter beside it makes the answer 400, naming the malformed ones.
    expect(problemOf({ near: '91,0', bbox: '1,2,3', from: '2024-01-01T00:00:00', limit: '0', cursor: 'nope' })).toEqual({ status: 400, fields: ['bbox', 'cursor', 'from', 'limit'] });
    expect(problemOf({ radiusM: '10' })).toEqual({ status: 400, fields: ['radiusM'] });
    expect(problemOf({ near: 'abc' })).toEqual({ status: 400, fields: ['near'] });
    expect(problemOf({ near: '1,2,3' })).toEqual({ status: 400, fields: ['near'] });
    expect(problemOf({ bbox: 'a,b,c,d' })).toEqual({ status: 400, fields: ['bbox'] });
    expect(problemOf({ q: ['a', 'b'] })).toEqual({ status: 400, fields: ['q'] });
  });

  it('answers 422 for well-formed but wrong values: coordinates out of range, minLat above maxLat, from after to', () => {
    expect(problemOf({ near: '91,0' })).toEqual({ status: 422, fields: ['near'] });
    expect(problemOf({ near: '0,-180.5' })).toEqual({ status: 422, fields: ['near'] });
    expect(problemOf({ bbox: '0,0,181,1' })).toEqual({ status: 422, fields: ['bbox'] });
    expect(problemOf({ bbox: '0,-91,1,1' })).toEqual({ status: 422, fields: ['bbox'] });
    expect(problemOf({ bbox: '0,50,10,40' })).toEqual({ status: 422, fields: ['bbox'] });
    expect(problemOf({ from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' })).toEqual({ status: 422, fields: ['from'] });
    expect(problemOf({ near: '91,0', bbox: '0,50,10,40', from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' })).toEqual({ status: 422, fields: ['bbox', 'from', 'near'] });
  });
});
