import { badRequest, type FieldProblem } from '#custodia/errors';
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

function numbers(raw: string, count: number): number[] | null {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== count || parts.some((p) => !/^-?\d+(\.\d+)?$/.test(p))) return null;
  return parts.map(Number);
}

/**
 * Reads a listing's query string. Each reader records a problem naming its parameter instead of
 * throwing, so one 400 lists every wrong parameter; `done()` throws it.
 */
export class ListingQuery {
  private readonly problems: FieldProblem[] = [];

  constructor(
    private readonly raw: Record<string, unknown>,
    known: readonly string[],
  ) {
    for (const name of Object.keys(raw)) if (!known.includes(name)) this.problem(name, 'is not a known parameter');
  }

  problem(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  text(name: string): string | null {
    const value = this.raw[name];
    if (value === undefined) return null;
    if (typeof value !== 'string') {
      this.problem(name, 'must be given once');
      return null;
    }
    return value;
  }

  /** One of `values`, or `fallback` when absent. */
  choice<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const value = this.text(name);
    if (value === null) return fallback;
    if (!values.includes(value as T)) {
      this.problem(name, `must be one of ${values.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  /** True when the parameter was given (once or more). */
  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  /** `near=lat,lon` with `radiusM` (default 1000). */
  near(): Near | null {
    const nearRaw = this.text('near');
    const radiusRaw = this.text('radiusM');
    if (nearRaw === null) {
      if (radiusRaw !== null) this.problem('radiusM', 'needs near');
      return null;
    }
    const point = numbers(nearRaw, 2);
    const radiusM = radiusRaw === null ? 1000 : Number(radiusRaw);
    if (!point || Math.abs(point[0]!) > 90 || Math.abs(point[1]!) > 180) this.problem('near', 'must be lat,lon in range');
    else if (!Number.isFinite(radiusM) || radiusM <= 0 || radiusM > 20_000_000) this.problem('radiusM', 'must be metres, 0 < r <= 20000000');
    else return { lat: point[0]!, lon: point[1]!, radiusM };
    return null;
  }

  /** `bbox=minLon,minLat,maxLon,maxLat`. */
  bbox(): BBox | null {
    const raw = this.text('bbox');
    if (raw === null) return null;
    const b = numbers(raw, 4);
    if (!b || Math.abs(b[0]!) > 180 || Math.abs(b[2]!) > 180 || Math.abs(b[1]!) > 90 || Math.abs(b[3]!) > 90 || b[1]! > b[3]!) {
      this.problem('bbox', 'must be minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)');
      return null;
    }
    return { minLon: b[0]!, minLat: b[1]!, maxLon: b[2]!, maxLat: b[3]! };
  }

  /** `from` and `to` as RFC 3339 date-times, from not after to. */
  timeRange(): { from: Date | null; to: Date | null } {
    const date = (name: string): Date | null => {
      const value = this.text(name);
      if (value === null) return null;
      const parsed = new Date(value);
      if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(parsed.getTime())) {
        this.problem(name, 'must be an RFC 3339 date-time');
        return null;
      }
      return parsed;
    };
    const from = date('from');
    const to = date('to');
    if (from && to && from > to) this.problem('from', 'must not be after to');
    return { from, to };
  }

  /** Free text `q`, at most 200 characters. */
  q(): string | null {
    const q = this.text('q');
    if (q !== null && q.length > 200) this.problem('q', 'must be at most 200 characters');
    return q?.trim() || null;
  }

  limit(): number {
    const raw = this.text('limit');
    const limit = raw === null ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) this.problem('limit', 'must be a whole number from 1 to 200');
    return limit;
  }

  cursor(): Cursor | null {
    const raw = this.text('cursor');
    if (raw === null) return null;
    try {
      const [us, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
      if (typeof us !== 'string' || !/^-?\d{1,19}$/.test(us) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error();
      return { us, id };
    } catch {
      this.problem('cursor', 'is not a cursor this API gave out');
      return null;
    }
  }

  /** Throws one 400 listing every problem found. */
  done(): void {
    if (this.problems.length) throw badRequest('The listing query has invalid parameters', this.problems);
  }
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
