import { badRequest, unprocessable, type FieldProblem } from '#custodia/errors';

/** A code a body uses, to be checked against its vocabulary (unknown or deprecated: 422). */
export interface VocabularyReference {
  field: string;
  vocabulary: string;
  code: string;
}

/** A count that sources give as a range; `min === max` when they agree. */
export interface CountRange {
  min: number;
  max: number;
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/i;
const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;

/**
 * Reads one JSON object field by field, collecting what is malformed (400: wrong type, missing,
 * unknown field) apart from what is well-formed but wrong (422: unknown code, min > max,
 * coordinates out of range, end before start). Every problem names the field's path.
 */
export class BodyReader {
  readonly malformed: FieldProblem[] = [];
  readonly wrong: FieldProblem[] = [];
  readonly references: VocabularyReference[] = [];

  private path(prefix: string, name: string): string {
    return prefix ? `${prefix}.${name}` : name;
  }

  /** Unknown fields are refused, as everywhere in this API. */
  only(body: Json, known: string[], prefix = ''): void {
    for (const key of Object.keys(body)) if (!known.includes(key)) this.malformed.push({ field: this.path(prefix, key), message: 'is not a known field' });
  }

  object(value: unknown, field: string): Json | null {
    if (value === undefined || value === null) return null;
    if (!isObject(value)) {
      this.malformed.push({ field, message: 'must be an object' });
      return null;
    }
    return value;
  }

  text(value: unknown, field: string, options: { max?: number; required?: boolean } = {}): string | null {
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      if (options.required) this.malformed.push({ field, message: 'is required' });
      return null;
    }
    if (typeof value !== 'string') {
      this.malformed.push({ field, message: 'must be a string' });
      return null;
    }
    const cleaned = value.normalize('NFC').trim();
    if (cleaned.length > (options.max ?? 500)) {
      this.malformed.push({ field, message: `must be at most ${options.max ?? 500} characters` });
      return null;
    }
    return cleaned;
  }

  code(value: unknown, field: string, vocabulary: string, options: { required?: boolean; fallback?: string } = {}): string | null {
    if (value === undefined || value === null) {
      if (options.fallback !== undefined) return options.fallback;
      if (options.required) this.malformed.push({ field, message: `is required (a code of the ${vocabulary} vocabulary)` });
      return null;
    }
    if (typeof value !== 'string' || !/^[a-z0-9_.]{1,100}$/.test(value)) {
      this.wrong.push({ field, message: `is not a code of the ${vocabulary} vocabulary` });
      return null;
    }
    this.references.push({ field, vocabulary, code: value });
    return value;
  }

  codes(value: unknown, field: string, vocabulary: string): string[] {
    const items = this.array(value, field, 50);
    const codes = items.map((item, i) => this.code(item, `${field}[${i}]`, vocabulary, { required: true })).filter((c): c is string => c !== null);
    return [...new Set(codes)];
  }

  array(value: unknown, field: string, max: number): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.malformed.push({ field, message: 'must be an array' });
      return [];
    }
    if (value.length > max) {
      this.malformed.push({ field, message: `must have at most ${max} entries` });
      return [];
    }
    return value;
  }

  boolean(value: unknown, field: string): boolean | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'boolean') {
      this.malformed.push({ field, message: 'must be true or false' });
      return null;
    }
    return value;
  }

  count(value: unknown, field: string, max = 10_000_000): number | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.malformed.push({ field, message: 'must be a whole number' });
      return null;
    }
    if (value < 0 || value > max) {
      this.wrong.push({ field, message: `must be between 0 and ${max}` });
      return null;
    }
    return value;
  }

  uuid(value: unknown, field: string): string | null {
    if (typeof value !== 'string' || !UUID.test(value)) {
      this.malformed.push({ field, message: 'must be a UUID' });
      return null;
    }
    return value.toLowerCase();
  }

  /** An RFC 3339 instant with its zone, stored as UTC with milliseconds. */
  instant(value: unknown, field: string, options: { required?: boolean } = {}): string | null {
    if (value === undefined || value === null) {
      if (options.required) this.malformed.push({ field, message: 'is required (an RFC 3339 date-time)' });
      return null;
    }
    const parsed = typeof value === 'string' && DATE_TIME.test(value) ? new Date(value) : null;
    if (!parsed || Number.isNaN(parsed.getTime())) {
      this.malformed.push({ field, message: 'must be an RFC 3339 date-time with a zone (Z or ±hh:mm)' });
      return null;
    }
    if (parsed.getTime() > Date.now() + 24 * 3600 * 1000) {
      this.wrong.push({ field, message: 'lies in the future' });
      return null;
    }
    return parsed.toISOString();
  }

  /** A calendar date (YYYY-MM-DD) or an instant. */
  dateOrInstant(value: unknown, field: string): string | null {
    if (typeof value === 'string' && DATE_ONLY.test(value)) {
      const parsed = new Date(`${value}T00:00:00Z`);
      if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
        this.malformed.push({ field, message: 'is not a calendar date' });
        return null;
      }
      return value;
    }
    return this.instant(value, field);
  }

  /** `{ min, max }` of whole, non-negative numbers with min <= max; a number n means { n, n }. */
  range(value: unknown, field: string, options: { required?: boolean } = {}): CountRange | null {
    if (value === undefined || value === null) {
      if (options.required) this.malformed.push({ field, message: 'is required ({ min, max })' });
      return null;
    }
    if (typeof value === 'number') {
      const n = this.count(value, field);
      return n === null ? null : { min: n, max: n };
    }
    const body = this.object(value, field);
    if (!body) return null;
    this.only(body, ['min', 'max'], field);
    const min = this.count(body['min'], `${field}.min`);
    const max = this.count(body['max'], `${field}.max`);
    if (body['min'] === undefined || body['min'] === null) this.malformed.push({ field: `${field}.min`, message: 'is required' });
    if (body['max'] === undefined || body['max'] === null) this.malformed.push({ field: `${field}.max`, message: 'is required' });
    if (min === null || max === null) return null;
    if (min > max) {
      this.wrong.push({ field, message: 'min must not be greater than max' });
      return null;
    }
    return { min, max };
  }

  location(value: unknown, field: string): GeoPoint | null {
    const body = this.object(value, field);
    if (!body) return null;
    this.only(body, ['lat', 'lon'], field);
    const coordinate = (name: 'lat' | 'lon', limit: number): number | null => {
      const v = body[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        this.malformed.push({ field: `${field}.${name}`, message: 'must be a number (WGS 84 decimal degrees)' });
        return null;
      }
      if (Math.abs(v) > limit) {
        this.wrong.push({ field: `${field}.${name}`, message: `must be between -${limit} and ${limit}` });
        return null;
      }
      return v;
    };
    const lat = coordinate('lat', 90);
    const lon = coordinate('lon', 180);
    return lat === null || lon === null ? null : { lat, lon };
  }
}

/** A body as a JSON object, or a 400. */
export function asObject(body: unknown, what: string): Json {
  if (!isObject(body)) throw badRequest(`The ${what} must be a JSON object`);
  return body;
}

/**
 * A PATCH body applied to the stored record: fields present replace (null clears), then the
 * whole is validated again, so rules across fields (startAt <= endAt) hold after every change.
 * `reason` is taken out; it belongs to the custody event, not to the record.
 */
export function applyPatch(stored: Json, patch: unknown, what: string): { merged: Json; reason: string | null } {
  const body = asObject(patch, what);
  const { reason, ...changes } = body;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 2000)) {
    throw badRequest(`The ${what} has invalid fields`, [{ field: 'reason', message: 'must be a string of at most 2000 characters' }]);
  }
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  if (!trimmed) throw unprocessable('Every change to a record needs a reason', [{ field: 'reason', message: 'say why the record changes' }]);
  return { merged: { ...stored, ...changes }, reason: trimmed };
}

/** The optional `reason` of a create body. */
export function takeReason(body: Json): { rest: Json; reason: string | null } {
  const { reason, ...rest } = body;
  if (reason !== undefined && reason !== null && (typeof reason !== 'string' || reason.length > 2000)) {
    throw badRequest('The body has invalid fields', [{ field: 'reason', message: 'must be a string of at most 2000 characters' }]);
  }
  return { rest, reason: typeof reason === 'string' && reason.trim() ? reason.trim() : null };
}
