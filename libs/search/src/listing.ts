import { stemWord, words } from './word-forms.js';

/** Mean Earth radius (IUGG), the sphere of every distance here. */
export const EARTH_RADIUS_M = 6_371_008.8;

export interface Near {
  lat: number;
  lon: number;
  radiusM: number;
}

/** A box of WGS 84 degrees; minLon > maxLon crosses the antimeridian. */
export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** The columns of a position: `lat` and `lon` in WGS 84 degrees, both null when there is none. */
export interface PointColumns {
  lat: string;
  lon: string;
}

/** Where the previous page ended: a timestamp in microseconds since the epoch, and the id. */
export interface Cursor {
  us: string;
  id: string;
}

/** Great-circle distance in metres (haversine on the mean Earth radius). */
export function greatCircleMetres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Time zones in use run from UTC-12:00 to UTC+14:00, so a wall-clock time read without its zone
 * happened at some instant from 14 hours before to 12 hours after the same clock reading in UTC:
 * a closed window of 26 hours.
 */
export const EARLIEST_UTC_OFFSET_H = -12;
export const LATEST_UTC_OFFSET_H = 14;
export const ZONELESS_WINDOW_MS = (LATEST_UTC_OFFSET_H - EARLIEST_UTC_OFFSET_H) * 3_600_000;

/**
 * The instants a zone-less wall-clock time (`2008-05-30T15:56:01`, optionally with a fraction)
 * may stand for: [clock read as UTC - 14 h, clock read as UTC + 12 h], both ends included.
 * Null for anything that is not such a time.
 */
export function zonelessWindow(wallClock: string): { from: Date; to: Date } | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?$/.test(wallClock)) return null;
  const asUtc = Date.parse(`${wallClock}Z`);
  if (!Number.isFinite(asUtc)) return null;
  return { from: new Date(asUtc - LATEST_UTC_OFFSET_H * 3_600_000), to: new Date(asUtc - EARLIEST_UTC_OFFSET_H * 3_600_000) };
}

/**
 * Words for PostgreSQL full-text search (`simple` configuration): the text split into words
 * here, each folded and stemmed by `stemWord` (word-forms.ts), so that the forms of a Ukrainian
 * or Russian noun (`Салтівка`, `Салтівці`, `Салтівку`) are one stored word, and joined by
 * single spaces, so the server's parser has nothing left to decide (the embedded server runs in
 * the C locale, which neither folds nor classifies Cyrillic as PostgreSQL 15 in C.UTF-8 does).
 * The stored text (`search_text`) and every query go through this same function.
 */
export function searchText(...parts: (string | null | undefined)[]): string {
  return words(parts.filter((p): p is string => Boolean(p)).join(' '))
    .map(stemWord)
    .join(' ');
}

/** The opaque `nextCursor` of a page that ended at (`us`, `id`). */
export function encodeCursor(us: string, id: string): string {
  return Buffer.from(JSON.stringify([us, id])).toString('base64url');
}

/** Positional SQL parameters: `p(value)` appends one and returns its `$n`. */
export function sqlParams(initial: unknown[] = []): { params: unknown[]; p: (value: unknown) => string } {
  const params = [...initial];
  return {
    params,
    p: (value) => {
      params.push(value);
      return `$${params.length}`;
    },
  };
}

/**
 * SQL conditions for places on `point(lon, lat)`: the GiST index through one or two boxes
 * (two when the box crosses the antimeridian), then the exact great-circle distance for `near`.
 * `at` is a table alias with `lat` and `lon` columns, or the two columns of one position; an
 * index on `point(lon, lat) WHERE lat IS NOT NULL` of those columns serves the conditions.
 */
export function placeConditions(at: string | PointColumns, bbox: BBox | null, near: Near | null, p: (value: unknown) => string): string[] {
  const { lat: latColumn, lon: lonColumn } = typeof at === 'string' ? { lat: `${at}.lat`, lon: `${at}.lon` } : at;
  const where: string[] = [];
  const box = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    `point(${lonColumn}, ${latColumn}) <@ box(point(${p(minLon)}, ${p(minLat)}), point(${p(maxLon)}, ${p(maxLat)}))`;
  const boxes = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    minLon <= maxLon ? box(minLon, minLat, maxLon, maxLat) : `(${box(minLon, minLat, 180, maxLat)} OR ${box(-180, minLat, maxLon, maxLat)})`;
  if (bbox) where.push(`${latColumn} IS NOT NULL`, boxes(bbox.minLon, bbox.minLat, bbox.maxLon, bbox.maxLat));
  if (near) {
    const { lat, lon, radiusM } = near;
    const dLat = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
    const minLat = lat - dLat;
    const maxLat = lat + dLat;
    where.push(`${latColumn} IS NOT NULL`);
    // Near a pole, or when the circle spans half the globe, a longitude band cannot bound it:
    // then only the latitude band (clamped) narrows the index scan.
    const cosLat = Math.cos((Math.max(Math.abs(minLat), Math.abs(maxLat)) * Math.PI) / 180);
    const dLon = cosLat > 1e-6 ? dLat / cosLat : 360;
    if (maxLat < 90 && minLat > -90 && dLon < 180) {
      const wrap = (x: number): number => ((((x + 180) % 360) + 360) % 360) - 180;
      where.push(boxes(wrap(lon - dLon), minLat, wrap(lon + dLon), maxLat));
    } else {
      where.push(boxes(-180, Math.max(-90, minLat), 180, Math.min(90, maxLat)));
    }
    where.push(
      `2 * ${EARTH_RADIUS_M} * asin(least(1, sqrt(power(sin(radians(${latColumn} - ${p(lat)}) / 2), 2)
         + cos(radians(${latColumn})) * cos(radians(${p(lat)})) * power(sin(radians(${lonColumn} - ${p(lon)}) / 2), 2)))) <= ${p(radiusM)}`,
    );
  }
  return where;
}

/**
 * The place conditions for any of several positions of a row: one condition that holds when
 * some position matches (each branch can use its own index; PostgreSQL ORs the bitmaps).
 * Empty when neither `bbox` nor `near` is given.
 */
export function anyPlaceCondition(positions: PointColumns[], bbox: BBox | null, near: Near | null, p: (value: unknown) => string): string[] {
  if (!bbox && !near) return [];
  const branches = positions.map((at) => `(${placeConditions(at, bbox, near, p).join(' AND ')})`);
  return [branches.length === 1 ? branches[0]! : `(${branches.join(' OR ')})`];
}

/**
 * Rows whose time interval [`fromColumn`, `toColumn`] overlaps the range [from, to] (ends
 * included). Intervals are at most `maxSpanMs` long, so `fromColumn` also lies in
 * [from - maxSpanMs, to]: one range scan of an index on `fromColumn` finds them all.
 */
export function overlapConditions(
  fromColumn: string,
  toColumn: string,
  range: { from: Date | null; to: Date | null },
  maxSpanMs: number,
  p: (value: unknown) => string,
): string[] {
  const where: string[] = [];
  if (range.from) {
    where.push(`${toColumn} >= ${p(range.from)}`);
    where.push(`${fromColumn} >= ${p(new Date(range.from.getTime() - maxSpanMs))}`);
  }
  if (range.to) where.push(`${fromColumn} <= ${p(range.to)}`);
  return where;
}

/** Rows strictly after the cursor in (time DESC, id DESC) order. */
export function cursorCondition(timeColumn: string, idColumn: string, cursor: Cursor, p: (value: unknown) => string): string {
  return `(${timeColumn}, ${idColumn}) < ('epoch'::timestamptz + ${p(cursor.us)}::bigint * interval '1 microsecond', ${p(cursor.id)}::uuid)`;
}
