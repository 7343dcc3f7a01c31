import { describe, expect, it } from 'vitest';
import type { ExtractedMetadata } from '#custodia/media';
import { contradictionFlags } from './flags.js';

const extracted = (over: Partial<ExtractedMetadata>): ExtractedMetadata =>
  ({ capturedAt: null, capturedAtOffset: null, location: null, device: null, orientation: null, width: null, height: null, durationS: null, ...over }) as ExtractedMetadata;
const tolerance = { locationM: 1000, timeS: 3600 };

describe('contradictionFlags', () => {
  it('flags positions further apart than the tolerance, not those within it', () => {
    const file = extracted({ location: { lat: 49.9935, lon: 36.2304, altitudeM: null } });
    expect(contradictionFlags({ location: { lat: 49.9935, lon: 36.2404 } }, file, tolerance)).toEqual([]); // ~716 m
    expect(contradictionFlags({ location: { lat: 49.9935, lon: 36.2504 } }, file, tolerance)).toEqual(['location_mismatch']); // ~1.4 km
  });

  it('compares times after applying the embedded offset', () => {
    const file = extracted({ capturedAt: '2026-11-20T01:10:00.000Z', capturedAtOffset: '+02:00' });
    expect(contradictionFlags({ capturedAt: '2026-11-20T03:40:00+02:00' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-20T05:20:00+02:00' }, file, tolerance)).toEqual(['time_mismatch']);
  });

  it('does not guess a zone for a wall-clock time: only a gap beyond any zone is a mismatch', () => {
    const file = extracted({ capturedAt: '2026-11-20T03:10:00', capturedAtOffset: null });
    expect(contradictionFlags({ capturedAt: '2026-11-20T01:10:00Z' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-22T01:10:00Z' }, file, tolerance)).toEqual(['time_mismatch']);
  });

  it('says nothing when either side is missing', () => {
    expect(contradictionFlags({}, extracted({ location: { lat: 1, lon: 1, altitudeM: null } }), tolerance)).toEqual([]);
    expect(contradictionFlags({ location: { lat: 1, lon: 1 } }, null, tolerance)).toEqual([]);
  });
});
