import { searchText } from '#custodia/db';
import { badRequest, type FieldProblem } from '#custodia/errors';

export const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres (haversine on the mean Earth radius). */
export function greatCircleM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** An incident listing's filters, parsed from the query string. */
export interface IncidentListQuery {
  near: { lat: number; lon: number; radiusM: number } | null;
  bbox: { minLon: number; minLat: number; maxLon: number; maxLat: number } | null;
  from: Date | null;
  to: Date | null;
  type: string | null;
  weaponType: string | null;
  grade: string | null;
  verificationStatus: string | null;
  q: string | null;
  limit: number;
  /** Where the previous page ended: start_at in microseconds since the epoch, and the id. */
  cursor: { startUs: string; id: string } | null;
}

const KNOWN = ['near', 'radiusM', 'bbox', 'from', 'to', 'type', 'weaponType', 'grade', 'verificationStatus', 'q', 'limit', 'cursor'];

function numbers(raw: string, count: number): number[] | null {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== count || parts.some((p) => !/^-?\d+(\.\d+)?$/.test(p))) return null;
  return parts.map(Number);
}

/** Parses the listing's query string; every problem names its parameter. */
export function parseIncidentQuery(raw: Record<string, unknown>): IncidentListQuery {
  const problems: FieldProblem[] = [];
  const text = (name: string): string | null => {
    const value = raw[name];
    if (value === undefined) return null;
    if (typeof value !== 'string') {
      problems.push({ field: name, message: 'must be given once' });
      return null;
    }
    return value;
  };
  for (const name of Object.keys(raw)) if (!KNOWN.includes(name)) problems.push({ field: name, message: 'is not a known parameter' });

  let near: IncidentListQuery['near'] = null;
  const nearRaw = text('near');
  const radiusRaw = text('radiusM');
  if (nearRaw !== null) {
    const point = numbers(nearRaw, 2);
    const radiusM = radiusRaw === null ? 1000 : Number(radiusRaw);
    if (!point || Math.abs(point[0]!) > 90 || Math.abs(point[1]!) > 180) problems.push({ field: 'near', message: 'must be lat,lon in range' });
    else if (!Number.isFinite(radiusM) || radiusM <= 0 || radiusM > 20_000_000) problems.push({ field: 'radiusM', message: 'must be metres, 0 < r <= 20000000' });
    else near = { lat: point[0]!, lon: point[1]!, radiusM };
  } else if (radiusRaw !== null) problems.push({ field: 'radiusM', message: 'needs near' });

  let bbox: IncidentListQuery['bbox'] = null;
  const bboxRaw = text('bbox');
  if (bboxRaw !== null) {
    const b = numbers(bboxRaw, 4);
    if (!b || Math.abs(b[0]!) > 180 || Math.abs(b[2]!) > 180 || Math.abs(b[1]!) > 90 || Math.abs(b[3]!) > 90 || b[1]! > b[3]!) {
      problems.push({ field: 'bbox', message: 'must be minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)' });
    } else bbox = { minLon: b[0]!, minLat: b[1]!, maxLon: b[2]!, maxLat: b[3]! };
  }

  const date = (name: string): Date | null => {
    const value = text(name);
    if (value === null) return null;
    const parsed = new Date(value);
    if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(parsed.getTime())) {
      problems.push({ field: name, message: 'must be an RFC 3339 date-time' });
      return null;
    }
    return parsed;
  };
  const from = date('from');
  const to = date('to');
  if (from && to && from > to) problems.push({ field: 'from', message: 'must not be after to' });

  const code = (name: string): string | null => {
    const value = text(name);
    if (value !== null && !/^[a-z0-9_.]{1,100}$/.test(value)) problems.push({ field: name, message: 'must be a vocabulary code' });
    return value;
  };
  const type = code('type');
  const weaponType = code('weaponType');
  const grade = code('grade');
  const verificationStatus = code('verificationStatus');
  const q = text('q');
  if (q !== null && q.length > 200) problems.push({ field: 'q', message: 'must be at most 200 characters' });
  const limitRaw = text('limit');
  const limit = limitRaw === null ? 50 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) problems.push({ field: 'limit', message: 'must be a whole number from 1 to 200' });

  let cursor: IncidentListQuery['cursor'] = null;
  const cursorRaw = text('cursor');
  if (cursorRaw !== null) {
    try {
      const [startUs, id] = JSON.parse(Buffer.from(cursorRaw, 'base64url').toString('utf8'));
      if (typeof startUs !== 'string' || !/^-?\d{1,19}$/.test(startUs) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error();
      cursor = { startUs, id };
    } catch {
      problems.push({ field: 'cursor', message: 'is not a cursor this API gave out' });
    }
  }
  if (problems.length) throw badRequest('The listing query has invalid parameters', problems);
  return { near, bbox, from, to, type, weaponType, grade, verificationStatus, q: q?.trim() || null, limit, cursor };
}


/**
 * SQL conditions for places on `point(lon, lat)`: the GiST index through one or two boxes
 * (two when the box crosses the antimeridian), then the exact great-circle distance for `near`.
 */
export function placeConditions(
  alias: string,
  bbox: IncidentListQuery['bbox'],
  near: IncidentListQuery['near'],
  p: (value: unknown) => string,
): string[] {
  const where: string[] = [];
  const box = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    `point(${alias}.lon, ${alias}.lat) <@ box(point(${p(minLon)}, ${p(minLat)}), point(${p(maxLon)}, ${p(maxLat)}))`;
  const boxes = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    minLon <= maxLon ? box(minLon, minLat, maxLon, maxLat) : `(${box(minLon, minLat, 180, maxLat)} OR ${box(-180, minLat, maxLon, maxLat)})`;
  if (bbox) where.push(`${alias}.lat IS NOT NULL`, boxes(bbox.minLon, bbox.minLat, bbox.maxLon, bbox.maxLat));
  if (near) {
    const { lat, lon, radiusM } = near;
    const dLat = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
    const minLat = lat - dLat;
    const maxLat = lat + dLat;
    where.push(`${alias}.lat IS NOT NULL`);
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
      `2 * ${EARTH_RADIUS_M} * asin(least(1, sqrt(power(sin(radians(${alias}.lat - ${p(lat)}) / 2), 2)
         + cos(radians(${alias}.lat)) * cos(radians(${p(lat)})) * power(sin(radians(${alias}.lon - ${p(lon)}) / 2), 2)))) <= ${p(radiusM)}`,
    );
  }
  return where;
}

/** SQL conditions of an incident listing; `weaponTypes` is the asked type with its descendants. */
export function incidentQuerySql(query: IncidentListQuery, caseId: string, weaponTypes: string[] | null): { where: string; params: unknown[] } {
  const params: unknown[] = [caseId];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = ['i.case_id = $1', ...placeConditions('i', query.bbox, query.near, p)];
  // An incident is in a time range when it started in it (the indexed column).
  if (query.from) where.push(`i.start_at >= ${p(query.from)}`);
  if (query.to) where.push(`i.start_at <= ${p(query.to)}`);
  if (query.type) where.push(`i.type = ${p(query.type)}`);
  if (weaponTypes) where.push(`i.weapon_types && ${p(weaponTypes)}::text[]`);
  if (query.grade) where.push(`i.grade = ${p(query.grade)}`);
  if (query.verificationStatus) where.push(`i.verification_status = ${p(query.verificationStatus)}`);
  if (query.q) where.push(`i.search @@ plainto_tsquery('simple', ${p(searchText(query.q))})`);
  if (query.cursor) {
    where.push(`(i.start_at, i.id) < ('epoch'::timestamptz + ${p(query.cursor.startUs)}::bigint * interval '1 microsecond', ${p(query.cursor.id)}::uuid)`);
  }
  return { where: where.join(' AND '), params };
}
