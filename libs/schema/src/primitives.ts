import { z } from 'zod';
import { wrong } from './parse.js';

/** A UUID in any of its RFC 9562 versions (identifiers here are v4, imported ones may not be). */
export const uuid = (): z.ZodString => z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID').meta({ format: 'uuid' });

/**
 * A resumable upload's id, the last part of its tus Location: a lowercase UUID, as the archive
 * names uploads (api.md: identifiers are UUIDs); 32 hex digits for uploads made before it did,
 * which still finish.
 */
export const UPLOAD_ID_PATTERN = '^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$';

/** Free text of at most `max` characters; `required` ones must hold more than blanks. */
export const text = (max: number): z.ZodString => z.string().max(max);

/**
 * A non-empty line of text (names, titles): trimmed, and one line: a tab or line break inside it
 * is refused (400), as free text (`text`, `reason`) keeps them.
 */
export const line = (max: number): z.ZodString =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\t\n\r]*$/, 'must be a single line: no tab or line break');

const YEAR_1 = Date.parse('0001-01-01T00:00:00Z');
const END_OF_9999 = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Whether an instant (ms since the epoch) lies in the years 0001 to 9999, UTC: what RFC 3339
 * writes and PostgreSQL stores (it has no year 0: "0000-01-01T00:00:00Z", or
 * "0001-01-01T00:30:00+01:00", which is that instant, fail there).
 */
export const inCalendarYears = (ms: number): boolean => ms >= YEAR_1 && ms <= END_OF_9999;

/**
 * Whether a page cursor's instant (decimal microseconds since the epoch, as listings write them)
 * lies in those years: a crafted one outside them made PostgreSQL's conversions fail (500).
 */
export const inCalendarMicros = (us: string): boolean => {
  if (!/^-?\d{1,19}$/.test(us)) return false;
  const value = BigInt(us);
  return value >= BigInt(YEAR_1) * 1000n && value <= BigInt(END_OF_9999) * 1000n + 999n;
};

/** An RFC 3339 date-time with its offset (`Z` or `±hh:mm`): a time without one is refused; one outside the years 0001 to 9999 (UTC) is wrong (422). */
export const dateTime = () =>
  z.iso
    .datetime({ offset: true, message: 'must be an RFC 3339 date-time with an offset (Z or ±hh:mm)' })
    .refine((value) => inCalendarYears(Date.parse(value)), wrong('must lie in the years 0001 to 9999 (UTC)'));

/** A calendar date, `YYYY-MM-DD`. */
export const date = () => z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });

/** A WGS 84 latitude; out of range is well-formed but wrong (422). */
export const latitude = () =>
  z
    .number()
    .refine((v) => v >= -90 && v <= 90, wrong('must be between -90 and 90'))
    .meta({ minimum: -90, maximum: 90 });

/** A WGS 84 longitude; out of range is well-formed but wrong (422). */
export const longitude = () =>
  z
    .number()
    .refine((v) => v >= -180 && v <= 180, wrong('must be between -180 and 180'))
    .meta({ minimum: -180, maximum: 180 });

/** A point in WGS 84 decimal degrees. */
export const GeoPoint = z.strictObject({ lat: latitude(), lon: longitude() }).meta({ id: 'GeoPoint', description: 'WGS 84 decimal degrees' });

/** A lowercase hex SHA-256. */
export const sha256Hex = () => z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)');

/** A `reason` a change of a record must give: free text (tabs and line breaks kept), trimmed, not blank. */
export const reason = () => z.string().trim().min(1).max(2000).describe('Why the change was made; recorded in the custody event');

/** The mark `requiredInDocument` leaves on a field's JSON schema (the OpenAPI writer reads it). */
export const REQUIRED_IN_DOCUMENT = 'x-custodia-required';

/**
 * A field the OpenAPI document lists as required though its schema takes it as optional: its
 * absence is refused by the body's own check, named with the body's other problems (422), not
 * by the shape (400). Clients generated from the document then always send it.
 */
export const requiredInDocument = <T extends z.ZodType>(schema: T): T => schema.meta({ [REQUIRED_IN_DOCUMENT]: true });

/**
 * The mark of a field that takes a whole number n (meaning { min: n, max: n }) as well as
 * `{ min, max }`, with the largest value allowed: the OpenAPI writer documents both forms
 * (a preprocessed schema shows only the object).
 */
export const NUMBER_OR_RANGE = 'x-custodia-number-or-range';

/** Letters an email address cannot show: format characters (zero-width and the like), separators and controls. */
export const VISIBLE_EMAIL = /^[^\p{Cf}\p{Z}\p{Cc}\s]+$/u;

/** An email address: no spaces, invisible or control characters (a zero-width space is refused). */
export const email = () =>
  z
    .string()
    .max(320)
    .regex(VISIBLE_EMAIL, 'must not contain spaces, invisible or control characters')
    .pipe(z.email({ message: 'must be an email address' }));

/** An RFC 3339 timestamp as the API writes them (UTC, milliseconds). */
export const timestamp = () => z.iso.datetime({ offset: true });
