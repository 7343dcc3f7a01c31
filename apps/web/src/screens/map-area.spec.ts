import { describe, expect, it } from 'vitest';
import { bboxOf } from './map-area.js';

describe('bboxOf (the part of the map shown, as a listing searches it)', () => {
  it('gives minLon,minLat,maxLon,maxLat of a view, to five decimals', () => {
    expect(bboxOf({ west: 36.123456789, south: 49.9, east: 36.4, north: 50.1 })).toBe('36.12346,49.9,36.4,50.1');
  });

  it('brings a view scrolled onto another copy of the world back into -180..180', () => {
    expect(bboxOf({ west: 396, south: 49, east: 397, north: 50 })).toBe('36,49,37,50');
    expect(bboxOf({ west: -330, south: 49, east: -320, north: 50 })).toBe('30,49,40,50');
  });

  it('keeps a view across the antimeridian as one box whose west is east of its east', () => {
    expect(bboxOf({ west: 170, south: -20, east: 190, north: 10 })).toBe('170,-20,-170,10');
    expect(bboxOf({ west: 170, south: -20, east: 180, north: 10 })).toBe('170,-20,180,10');
  });

  it('takes all longitudes for a view wider than the world, and clamps the latitudes', () => {
    expect(bboxOf({ west: -250, south: -95, east: 300, north: 97 })).toBe('-180,-90,180,90');
  });
});
