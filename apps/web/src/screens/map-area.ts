/**
 * The part of the world the map shows, as the listings' `bbox` (minLon,minLat,maxLon,maxLat; a
 * view across the antimeridian has minLon > maxLon; one wider than the world is all of it).
 */
export function bboxOf(bounds: { west: number; south: number; east: number; north: number }): string {
  const wrap = (lon: number) => ((((lon + 180) % 360) + 360) % 360) - 180;
  const lat = (v: number) => Math.max(-90, Math.min(90, v));
  const [west, east] = bounds.east - bounds.west >= 360 ? [-180, 180] : [wrap(bounds.west), wrap(bounds.east)];
  // A view ending exactly on the antimeridian wraps its east edge to -180: that is 180 here.
  const eastEdge = east === -180 && west > -180 ? 180 : east;
  return [west, lat(bounds.south), eastEdge, lat(bounds.north)].map((v) => Number(v.toFixed(5))).join(',');
}
