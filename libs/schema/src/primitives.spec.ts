import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseWith } from './parse.js';
import { dateTime, line, reason, text, UPLOAD_ID_PATTERN } from './primitives.js';

const Body = z.strictObject({ title: line(50), description: text(200).optional(), reason: reason().optional() });
const problemOf = (body: unknown): { kind: string; fields: { field: string; message: string }[] } | null => {
  try {
    parseWith(Body, body, 'The body');
    return null;
  } catch (error) {
    const { kind, fields } = error as { kind: string; fields: { field: string; message: string }[] };
    return { kind, fields };
  }
};

describe('line', () => {
  it.each(['a\tb', 'a\nb', 'a\rb', 'a\r\nb', ' first \n second '])('refuses a tab or line break inside the value (%j): 400 naming the field', (title) => {
    expect(problemOf({ title })).toEqual({ kind: 'bad_request', fields: [{ field: 'title', message: 'must be a single line: no tab or line break' }] });
  });

  it('trims tabs and line breaks around the value, then keeps it', () => {
    expect(parseWith(Body, { title: '\t Kharkiv, Saltivka \r\n' }).title).toBe('Kharkiv, Saltivka');
    expect(problemOf({ title: ' \t\n ' })).toEqual({ kind: 'bad_request', fields: [{ field: 'title', message: 'must not be empty' }] });
  });

  it('leaves free text (text, reason) its tabs and line breaks', () => {
    const parsed = parseWith(Body, { title: 'ok', description: 'one\n\ttwo\r\n', reason: ' seized phone:\n\tsee the report ' });
    expect(parsed.description).toBe('one\n\ttwo\r\n');
    expect(parsed.reason).toBe('seized phone:\n\tsee the report');
  });
});

describe('UPLOAD_ID_PATTERN', () => {
  const id = new RegExp(UPLOAD_ID_PATTERN);
  it('takes a lowercase UUID and the 32 hex digits of uploads made before uploads were UUIDs', () => {
    expect(id.test('0b6c1f0e-3f7a-4c1e-9a43-2f1d7e8b9c10')).toBe(true);
    expect(id.test('0b6c1f0e3f7a4c1e9a432f1d7e8b9c10')).toBe(true);
  });
  it.each(['0B6C1F0E-3F7A-4C1E-9A43-2F1D7E8B9C10', '0b6c1f0e3f7a4c1e9a432f1d7e8b9c1', '0b6c1f0e-3f7a-4c1e-9a43-2f1d7e8b9c10/..', '../uploads', ''])('refuses %j', (value) => {
    expect(id.test(value)).toBe(false);
  });
});

describe('dateTime', () => {
  const At = z.strictObject({ at: dateTime() });
  it.each(['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '0001-01-01T04:59:59.999+05:00'])('holds %s, an instant before the year 0001 in UTC, wrong (422)', (at) => {
    expect(() => parseWith(At, { at })).toThrow(expect.objectContaining({ kind: 'unprocessable', fields: [{ field: 'at', message: 'must lie in the years 0001 to 9999 (UTC)' }] }));
  });

  it.each(['0001-01-01T00:00:00Z', '0001-01-01T00:30:00-01:00', '9999-12-31T23:59:59.999Z', '2026-11-20T01:10:00+02:00'])('takes %s', (at) => {
    expect(parseWith(At, { at }).at).toBe(at);
  });

  it('refuses a time without its offset as malformed (400)', () => {
    expect(() => parseWith(At, { at: '2026-11-20T01:10:00' })).toThrow(expect.objectContaining({ kind: 'bad_request' }));
  });
});
