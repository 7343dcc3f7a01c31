// Pure interpretation of raw EXIF/XMP values: capture time, position, device strings.
// Kept free of I/O so every rule about hostile or sloppy metadata can be tested on its own.

/** A position as the file states it, in signed decimal degrees (south and west negative). */
export interface ExtractedLocation {
  lat: number;
  lon: number;
  /** Metres; negative below sea level. */
  altitudeM: number | null;
}

/** A capture time: a UTC instant when the file gives an offset, otherwise a zone-less wall-clock time. */
export interface CaptureTime {
  capturedAt: string;
  capturedAtOffset: string | null;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number | null;
}

interface ParsedOffset {
  text: string;
  minutes: number;
}

/**
 * Where a capture time may come from; raw values as read from the file. The order of preference
 * (first usable source wins, each with its own offset or none; a zone is never borrowed from
 * another source, except EXIF OffsetTime under the rule below):
 *
 *  1. EXIF DateTimeOriginal + SubSecTimeOriginal + OffsetTimeOriginal
 *       (ExifTool: Composite:SubSecDateTimeOriginal)
 *  2. XMP exif:DateTimeOriginal
 *       (ExifTool: any DateTimeOriginal tag suppresses its IPTC-made Composite:DateTimeOriginal)
 *  3. XMP photoshop:DateCreated, then 4. IPTC DateCreated + TimeCreated (+ its ±HHMM offset),
 *       as ExifTool's MWG:DateTimeOriginal orders them; both swap when the IPTC was edited after
 *       the XMP (Photoshop IPTCDigest present and no longer matching the IPTC, `iptcNewerThanXmp`).
 *       (ExifTool's plain Composite:DateTimeOriginal is IPTC's date + time whenever no
 *       DateTimeOriginal tag exists; it ignores photoshop:DateCreated.)
 *  5. Capture times only a maker's own block states (Canon CIFF, APP12 PictureInfo, Pentax maker
 *       note Date + Time), zone-less as ExifTool shows them.
 *  6. EXIF CreateDate + SubSecTimeDigitized + OffsetTimeDigitized (Composite:SubSecCreateDate)
 *  7. `xmpDates` in order (metadata.ts: xmp:CreateDate, exif:DateTimeDigitized; other readers
 *       pass their ISO 8601 dates here)
 *  8. IPTC DigitalCreationDate + DigitalCreationTime (Composite:DigitalCreationDateTime)
 * ModifyDate is never a capture time.
 */
export interface CaptureTimeTags {
  dateTimeOriginal?: unknown;
  subSecTimeOriginal?: unknown;
  offsetTimeOriginal?: unknown;
  createDate?: unknown;
  subSecTimeDigitized?: unknown;
  offsetTimeDigitized?: unknown;
  modifyDate?: unknown;
  offsetTime?: unknown;
  /** XMP exif:DateTimeOriginal (ISO 8601). */
  xmpDateTimeOriginal?: unknown;
  /** XMP photoshop:DateCreated (ISO 8601; often a date alone, which is no capture time). */
  xmpDateCreated?: unknown;
  /** IPTC 2:55 DateCreated and 2:60 TimeCreated as stored ("20240224", "051233+0200"). */
  iptcDateCreated?: unknown;
  iptcTimeCreated?: unknown;
  /** MWG: the IPTC changed after the XMP was last synchronised with it, so IPTC comes first. */
  iptcNewerThanXmp?: boolean;
  /** Maker-block capture times, EXIF style ("2000:08:22 15:31:12"), in order; zone-less. */
  makerDates?: unknown[];
  /** ISO 8601 dates tried after EXIF CreateDate (xmp:CreateDate, exif:DateTimeDigitized...). */
  xmpDates?: unknown[];
  /** IPTC 2:62 DigitalCreationDate and 2:63 DigitalCreationTime as stored. */
  iptcDigitalCreationDate?: unknown;
  iptcDigitalCreationTime?: unknown;
}

const MAX_TEXT_LENGTH = 256;

/** Cleans a camera-written string: cut at the first NUL, trim padding, drop empties and oversize values. */
export function cleanText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') return null;
  const nul = value.indexOf('\0');
  // Control characters other than plain spaces are padding or garbage in these fields.
  const text = (nul >= 0 ? value.slice(0, nul) : value).replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (text.length === 0) return null;
  return text.length > MAX_TEXT_LENGTH ? text.slice(0, MAX_TEXT_LENGTH) : text;
}

/** Picks the capture time by preference (see CaptureTimeTags), never inventing a zone. */
export function captureTimeFromTags(tags: CaptureTimeTags): CaptureTime | null {
  const modified = parseExifDateTime(tags.modifyDate);
  const exif = (dateValue: unknown, subSecValue: unknown, offsetValue: unknown): CaptureTime | null => {
    const wall = parseExifDateTime(dateValue);
    if (!wall) return null;
    if (wall.millisecond === null) wall.millisecond = parseSubSeconds(subSecValue);
    let offset = parseOffset(offsetValue);
    // OffsetTime belongs to ModifyDate. It describes this clock reading only when the file was
    // not modified after capture (same wall-clock second); otherwise borrowing it would guess.
    if (!offset && modified && sameSecond(modified, wall)) offset = parseOffset(tags.offsetTime);
    return formatCaptureTime(wall, offset);
  };
  const iso = (value: unknown): CaptureTime | null => {
    const parsed = parseIsoDateTime(value);
    return parsed ? formatCaptureTime(parsed.wall, parsed.offset) : null;
  };
  const iptc = (date: unknown, time: unknown): CaptureTime | null => {
    const parsed = parseIptcDateTime(date, time);
    return parsed ? formatCaptureTime(parsed.wall, parsed.offset) : null;
  };
  const iptcCreated = () => iptc(tags.iptcDateCreated, tags.iptcTimeCreated);
  const photoshopCreated = () => iso(tags.xmpDateCreated);
  const sources: Array<() => CaptureTime | null> = [
    () => exif(tags.dateTimeOriginal, tags.subSecTimeOriginal, tags.offsetTimeOriginal),
    () => iso(tags.xmpDateTimeOriginal),
    ...(tags.iptcNewerThanXmp ? [iptcCreated, photoshopCreated] : [photoshopCreated, iptcCreated]),
    ...(tags.makerDates ?? []).map((value) => () => exif(value, undefined, undefined)),
    () => exif(tags.createDate, tags.subSecTimeDigitized, tags.offsetTimeDigitized),
    ...(tags.xmpDates ?? []).map((value) => () => iso(value)),
    () => iptc(tags.iptcDigitalCreationDate, tags.iptcDigitalCreationTime),
  ];
  for (const source of sources) {
    const found = source();
    if (found) return found;
  }
  return null;
}

// IPTC IIM: date "CCYYMMDD", time "HHMMSS±HHMM" (the offset is mandatory in IIM 4 but often left
// out). Some writers put ExifTool-style separators in: "2024:02:24", "05:12:33+02:00".
const IPTC_DATE = /^(\d{4})[:-]?(\d{2})[:-]?(\d{2})$/;
const IPTC_TIME = /^(\d{2}):?(\d{2}):?(\d{2})(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses an IPTC date and time pair; a date without a time is not a capture time. */
export function parseIptcDateTime(date: unknown, time: unknown): { wall: WallClock; offset: ParsedOffset | null } | null {
  const d = IPTC_DATE.exec(cleanText(date) ?? '');
  const t = IPTC_TIME.exec(cleanText(time) ?? '');
  if (!d || !t) return null;
  const wall = validWallClock({
    year: Number(d[1]),
    month: Number(d[2]),
    day: Number(d[3]),
    hour: Number(t[1]),
    minute: Number(t[2]),
    second: Number(t[3]),
    millisecond: null,
  });
  if (!wall) return null;
  const offset = t[4] === undefined ? null : parseOffset(t[4]);
  // A malformed offset makes the whole time doubtful, as for XMP dates.
  if (t[4] !== undefined && !offset) return null;
  return { wall, offset };
}

function sameSecond(a: WallClock, b: WallClock): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

// EXIF: "YYYY:MM:DD HH:MM:SS". Some writers use '-' in the date or 'T'; a few append fractions.
const EXIF_DATE_TIME = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** Parses an EXIF date-time ("2008:05:30 15:56:01") into wall-clock parts; null when blank or impossible. */
export function parseExifDateTime(value: unknown): WallClock | null {
  const text = cleanText(value);
  if (!text) return null;
  const match = EXIF_DATE_TIME.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction] = match;
  return validWallClock({
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
    millisecond: fraction === undefined ? null : fractionToMilliseconds(fraction),
  });
}

/** SubSecTime* holds the digits after the decimal point ("25" is 0.25 s), not a count of milliseconds. */
export function parseSubSeconds(value: unknown): number | null {
  const text = cleanText(value);
  if (!text || !/^\d{1,9}$/.test(text)) return null;
  return fractionToMilliseconds(text);
}

function fractionToMilliseconds(digits: string): number {
  return Math.min(999, Math.floor(Number(`0.${digits}`) * 1000 + 1e-9));
}

/** Parses "+03:00" / "-0330" / "Z" into a normalised "±HH:MM" and minutes east of UTC. */
export function parseOffset(value: unknown): ParsedOffset | null {
  const text = cleanText(value);
  if (!text) return null;
  if (text === 'Z' || text === 'z') return { text: '+00:00', minutes: 0 };
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!match) return null;
  const [, sign, hh, mm] = match;
  const hours = Number(hh);
  const minutes = Number(mm);
  if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) return null;
  const total = hours * 60 + minutes;
  return { text: `${sign}${hh}:${mm}`, minutes: sign === '-' ? -total : total };
}

// XMP dates are ISO 8601 subsets; a time is required because a date alone is not a capture time.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Parses an XMP/ISO 8601 date-time, keeping its own offset when it has one. */
export function parseIsoDateTime(value: unknown): { wall: WallClock; offset: ParsedOffset | null } | null {
  const text = cleanText(value);
  if (!text) return null;
  // exiftool and others sometimes write EXIF-style separators into XMP.
  const match = ISO_DATE_TIME.exec(text.replace(/^(\d{4}):(\d{2}):(\d{2}) /, '$1-$2-$3T'));
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const wall = validWallClock({
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: s === undefined ? 0 : Number(s),
    millisecond: fraction === undefined ? null : fractionToMilliseconds(fraction),
  });
  if (!wall) return null;
  const offset = zone === undefined ? null : parseOffset(zone);
  if (zone !== undefined && !offset) return null;
  return { wall, offset };
}

function validWallClock(w: WallClock): WallClock | null {
  // Before photography and after 9999 are placeholders ("0000:00:00") or garbage, not times.
  if (w.year < 1800 || w.year > 9999) return null;
  if (w.month < 1 || w.month > 12 || w.day < 1) return null;
  if (w.hour > 23 || w.minute > 59 || w.second > 59) return null;
  const daysInMonth = new Date(Date.UTC(w.year, w.month, 0)).getUTCDate();
  if (w.day > daysInMonth) return null;
  return w;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function formatCaptureTime(wall: WallClock, offset: ParsedOffset | null): CaptureTime {
  if (offset) {
    const local = Date.UTC(
      wall.year,
      wall.month - 1,
      wall.day,
      wall.hour,
      wall.minute,
      wall.second,
      wall.millisecond ?? 0,
    );
    return {
      capturedAt: new Date(local - offset.minutes * 60_000).toISOString(),
      capturedAtOffset: offset.text,
    };
  }
  const date = `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`;
  const time = `${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
  const ms = wall.millisecond === null ? '' : `.${pad(wall.millisecond, 3)}`;
  return { capturedAt: `${date}T${time}${ms}`, capturedAtOffset: null };
}

/** Raw EXIF GPS tags as exifr returns them with reviveValues off (rationals already divided). */
export interface ExifGpsTags {
  GPSLatitude?: unknown;
  GPSLatitudeRef?: unknown;
  GPSLongitude?: unknown;
  GPSLongitudeRef?: unknown;
  GPSAltitude?: unknown;
  GPSAltitudeRef?: unknown;
}

/** Converts EXIF GPS degrees/minutes/seconds plus hemisphere refs into a location; null for nonsense. */
export function locationFromExifGps(gps: ExifGpsTags | null | undefined): ExtractedLocation | null {
  if (!gps || typeof gps !== 'object') return null;
  const lat = signedDegrees(gps.GPSLatitude, gps.GPSLatitudeRef, 'N', 'S', 90);
  const lon = signedDegrees(gps.GPSLongitude, gps.GPSLongitudeRef, 'E', 'W', 180);
  if (lat === null || lon === null) return null;
  return makeLocation(lat, lon, altitude(gps.GPSAltitude, gps.GPSAltitudeRef));
}

function signedDegrees(
  dms: unknown,
  ref: unknown,
  positive: string,
  negative: string,
  limit: number,
): number | null {
  // Without a hemisphere the sign is unknowable; refusing is better than guessing north/east.
  const hemisphere = cleanText(refText(ref))?.toUpperCase();
  if (hemisphere !== positive && hemisphere !== negative) return null;
  const parts = numberList(dms);
  if (!parts || parts.length === 0 || parts.length > 3) return null;
  const [degrees, minutes = 0, seconds = 0] = parts;
  if (parts.some((p) => !Number.isFinite(p) || p < 0)) return null;
  if (minutes >= 60 || seconds >= 60) return null;
  const value = degrees + minutes / 60 + seconds / 3600;
  if (value > limit) return null;
  return hemisphere === negative ? -value : value;
}

function refText(ref: unknown): unknown {
  // Refs are ASCII; some writers produce a one-element byte array instead.
  if (ref instanceof Uint8Array) return String.fromCharCode(...ref.subarray(0, 2));
  return ref;
}

function numberList(value: unknown): number[] | null {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) || value instanceof Float64Array || value instanceof Uint32Array) {
    const list = Array.from(value as ArrayLike<unknown>);
    return list.every((v) => typeof v === 'number') ? (list as number[]) : null;
  }
  return null;
}

const MAX_ALTITUDE_M = 100_000;

function altitude(value: unknown, ref: unknown): number | null {
  const parts = numberList(value);
  if (!parts || parts.length !== 1) return null;
  const metres = parts[0];
  if (!Number.isFinite(metres) || metres < 0 || metres > MAX_ALTITUDE_M) return null;
  const refValue = ref instanceof Uint8Array || Array.isArray(ref) ? ref[0] : ref;
  const refNumber = refValue === undefined || refValue === null ? 0 : Number(refValue);
  // 0 above / 1 below sea level. EXIF 3.0's 2/3 are ellipsoidal heights, another datum: not reported.
  if (refNumber === 0) return metres;
  if (refNumber === 1) return metres === 0 ? 0 : -metres;
  return null;
}

/** Raw XMP exif: GPS properties ("31,30.102N" style coordinates, "430/1" altitude). */
export interface XmpGpsTags {
  GPSLatitude?: unknown;
  GPSLongitude?: unknown;
  GPSAltitude?: unknown;
  GPSAltitudeRef?: unknown;
}

/** Converts XMP GPS coordinates ("DDD,MM,SSk" or "DDD,MM.mmk") into a location; null for nonsense. */
export function locationFromXmpGps(gps: XmpGpsTags | null | undefined): ExtractedLocation | null {
  if (!gps || typeof gps !== 'object') return null;
  const lat = xmpCoordinate(gps.GPSLatitude, 'N', 'S', 90);
  const lon = xmpCoordinate(gps.GPSLongitude, 'E', 'W', 180);
  if (lat === null || lon === null) return null;
  return makeLocation(lat, lon, altitude(xmpRational(gps.GPSAltitude), cleanText(gps.GPSAltitudeRef)));
}

function xmpCoordinate(value: unknown, positive: string, negative: string, limit: number): number | null {
  const text = cleanText(value);
  if (!text) return null;
  const match = /^(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])$/i.exec(text);
  if (!match) return null;
  const [, d, m, s, hemisphereRaw] = match;
  const hemisphere = hemisphereRaw.toUpperCase();
  if (hemisphere !== positive && hemisphere !== negative) return null;
  return signedDegrees([Number(d), Number(m), s === undefined ? 0 : Number(s)], hemisphere, positive, negative, limit);
}

function xmpRational(value: unknown): number | undefined {
  const text = cleanText(value);
  if (!text) return undefined;
  const match = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(text);
  if (!match) return undefined;
  const denominator = match[2] === undefined ? 1 : Number(match[2]);
  return denominator === 0 ? undefined : Number(match[1]) / denominator;
}

function makeLocation(lat: number, lon: number, altitudeM: number | null): ExtractedLocation | null {
  // 0,0 is what receivers without a fix write, not a place anyone filmed.
  if (Math.abs(lat) < 1e-7 && Math.abs(lon) < 1e-7) return null;
  return { lat: round(lat, 8), lon: round(lon, 8), altitudeM: altitudeM === null ? null : round(altitudeM, 3) };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  // Rounding removes float noise from the DMS sum (33.312805999999995) at a millimetre scale.
  return Math.round(value * factor) / factor + 0;
}

/** EXIF Orientation 1..8; anything else is ignored. */
export function orientationFrom(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(cleanText(value)) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 8 ? n : null;
}
