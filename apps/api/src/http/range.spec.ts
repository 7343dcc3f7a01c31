import { describe, expect, it } from 'vitest';
import { entityTag, ifRangeHolds, parseRange, preconditionOutcome } from './range.js';

describe('byte ranges (RFC 9110 §14)', () => {
  it('gives the one range asked for, clipped to the file', () => {
    expect(parseRange('bytes=0-1', 809)).toEqual({ start: 0, end: 1 });
    expect(parseRange('bytes=800-', 809)).toEqual({ start: 800, end: 808 });
    expect(parseRange('bytes=-10', 809)).toEqual({ start: 799, end: 808 });
    expect(parseRange('bytes=-5000', 809)).toEqual({ start: 0, end: 808 });
    expect(parseRange('bytes=100-99999', 809)).toEqual({ start: 100, end: 808 });
  });

  it('sends the whole body for no range, several ranges or another unit', () => {
    for (const header of [undefined, '', 'bytes=0-1,5-6', 'items=0-1', 'bytes=abc', 'bytes=-']) expect(parseRange(header, 809)).toBeNull();
  });

  it('answers 416 when no byte can be sent', () => {
    for (const header of ['bytes=809-', 'bytes=900-1000', 'bytes=5-2', 'bytes=-0']) expect(parseRange(header, 809)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });

  it('honours a range under If-Range only for this representation, compared strongly (§13.1.5)', () => {
    const etag = entityTag('ab'.repeat(32));
    expect(ifRangeHolds(undefined, etag)).toBe(true);
    expect(ifRangeHolds(etag, etag)).toBe(true);
    expect(ifRangeHolds(` ${etag} `, etag)).toBe(true);
    // Another version, a weak tag, a date (no Last-Modified is sent), a list: the whole body.
    for (const header of [entityTag('cd'.repeat(32)), `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT', `${etag}, "other"`, '*', '']) {
      expect(ifRangeHolds(header, etag), header).toBe(false);
    }
  });
});

describe('preconditionOutcome', () => {
  const etag = entityTag('ab'.repeat(32));
  it('fails If-Match without this tag (strong comparison), lets * and the tag through', () => {
    expect(preconditionOutcome('"other"', undefined, etag)).toBe(412);
    expect(preconditionOutcome(`W/${etag}`, undefined, etag)).toBe(412);
    expect(preconditionOutcome(`"other", ${etag}`, undefined, etag)).toBeNull();
    expect(preconditionOutcome('*', undefined, etag)).toBeNull();
  });

  it('answers 304 to If-None-Match naming this tag (weak comparison) or *, after If-Match', () => {
    expect(preconditionOutcome(undefined, etag, etag)).toBe(304);
    expect(preconditionOutcome(undefined, `W/${etag}`, etag)).toBe(304);
    expect(preconditionOutcome(undefined, '*', etag)).toBe(304);
    expect(preconditionOutcome(undefined, '"other"', etag)).toBeNull();
    expect(preconditionOutcome('"other"', etag, etag)).toBe(412);
    expect(preconditionOutcome(undefined, undefined, etag)).toBeNull();
  });
});
