import { inCalendarMicros, inCalendarYears, wrong, z } from '#custodia/schema';
import type { BBox, Cursor, Near } from './listing.js';

/**
 * The query parameters listings share, as zod schemas: one declaration validates a listing's
 * query string and documents it in the OpenAPI document. Query values arrive as strings; a
 * parameter given twice arrives as an array and is refused ("must be given once").
 */
const once = (description: string) => z.string({ message: 'must be given once' }).describe(description);

const DECIMAL = /^-?\d+(\.\d+)?$/;
function numbers(raw: string, count: number): number[] | null {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== count || parts.some((p) => !DECIMAL.test(p))) return null;
  return parts.map(Number);
}

export const LISTING_FIELDS = {
  near: once('lat,lon: items within radiusM of this point').optional(),
  radiusM: once('metres around near (default 1000, at most 20000000)')
    .regex(DECIMAL, 'must be metres, 0 < r <= 20000000')
    .optional(),
  bbox: once('minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)').optional(),
  from: once('RFC 3339 date-time with an offset: not before').optional(),
  to: once('RFC 3339 date-time with an offset: not after').optional(),
  q: once('Words to find (Ukrainian and Russian word forms match)').max(200, 'must be at most 200 characters').optional(),
  limit: once('1 to 200 (default 50)').regex(/^\d{1,3}$/, 'must be a whole number from 1 to 200').optional(),
  cursor: once("The previous page's nextCursor").optional(),
};

/** What the shared parameters become once read. */
export interface ListingFilters {
  near: Near | null;
  bbox: BBox | null;
  from: Date | null;
  to: Date | null;
  q: string | null;
  limit: number;
  cursor: Cursor | null;
}

type RawListing = { [K in keyof typeof LISTING_FIELDS]?: string };

/**
 * Reads the shared parameters of a parsed query, adding an issue per wrong one (for a
 * `superRefine`/`transform` context), so one problem names every wrong parameter: 400 when any is
 * malformed (not numbers, wrong number of parts), else 422 for well-formed but wrong values
 * (coordinates out of range, minLat above maxLat, from after to), as for bodies (parseWith).
 */
export function readListingFilters(raw: RawListing, context: z.core.$RefinementCtx): ListingFilters {
  const problem = (field: string, message: string): void => context.addIssue({ code: 'custom', message, path: [field] });
  const unprocessable = (field: string, message: string): void => context.addIssue({ code: 'custom', ...wrong(message), path: [field] });
  let near: Near | null = null;
  if (raw.near === undefined) {
    if (raw.radiusM !== undefined) problem('radiusM', 'needs near');
  } else {
    const point = numbers(raw.near, 2);
    const radiusM = raw.radiusM === undefined ? 1000 : Number(raw.radiusM);
    if (!point) problem('near', 'must be lat,lon (decimal degrees)');
    else if (Math.abs(point[0]!) > 90 || Math.abs(point[1]!) > 180) unprocessable('near', 'must be in range: lat -90..90, lon -180..180');
    else if (!(radiusM > 0 && radiusM <= 20_000_000)) problem('radiusM', 'must be metres, 0 < r <= 20000000');
    else near = { lat: point[0]!, lon: point[1]!, radiusM };
  }
  let bbox: BBox | null = null;
  if (raw.bbox !== undefined) {
    const b = numbers(raw.bbox, 4);
    if (!b) problem('bbox', 'must be minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)');
    else if (Math.abs(b[0]!) > 180 || Math.abs(b[2]!) > 180 || Math.abs(b[1]!) > 90 || Math.abs(b[3]!) > 90) {
      unprocessable('bbox', 'must be in range: lon -180..180, lat -90..90');
    } else if (b[1]! > b[3]!) unprocessable('bbox', 'minLat must not be greater than maxLat');
    else bbox = { minLon: b[0]!, minLat: b[1]!, maxLon: b[2]!, maxLat: b[3]! };
  }
  const instant = (name: 'from' | 'to'): Date | null => {
    const value = raw[name];
    if (value === undefined) return null;
    if (!z.iso.datetime({ offset: true }).safeParse(value).success) {
      problem(name, 'must be an RFC 3339 date-time with an offset (Z or ±hh:mm)');
      return null;
    }
    const at = new Date(value);
    // As for bodies: PostgreSQL and the export formats hold the years 0001 to 9999.
    if (inCalendarYears(at.getTime())) return at;
    unprocessable(name, 'must lie in the years 0001 to 9999 (UTC)');
    return null;
  };
  const from = instant('from');
  const to = instant('to');
  if (from && to && from > to) unprocessable('from', 'must not be after to');
  const limit = raw.limit === undefined ? 50 : Number(raw.limit);
  if (!(limit >= 1 && limit <= 200)) problem('limit', 'must be a whole number from 1 to 200');
  let cursor: Cursor | null = null;
  if (raw.cursor !== undefined) {
    try {
      const [us, id] = JSON.parse(Buffer.from(raw.cursor, 'base64url').toString('utf8'));
      if (typeof us !== 'string' || !inCalendarMicros(us) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error();
      cursor = { us, id };
    } catch {
      problem('cursor', 'is not a cursor this API gave out');
    }
  }
  return { near, bbox, from, to, q: raw.q?.trim() || null, limit, cursor };
}

/** A vocabulary code as a filter (`type=air_drone_strike`). */
export const codeFilter = (description: string) =>
  once(description)
    .regex(/^[a-z0-9_.]{1,100}$/, 'must be a vocabulary code')
    .optional();
