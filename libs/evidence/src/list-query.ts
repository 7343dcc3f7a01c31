import { searchText } from '#custodia/db';
import { badRequest, type FieldProblem } from '#custodia/errors';
import { EVIDENCE_FLAGS, type EvidenceFlag } from './flags.js';

/** A case listing's filters, parsed from the query string. */
export interface EvidenceListQuery {
  near: { lat: number; lon: number; radiusM: number } | null;
  bbox: { minLon: number; minLat: number; maxLon: number; maxLat: number } | null;
  from: Date | null;
  to: Date | null;
  flag: EvidenceFlag | null;
  mediaType: string | null;
  q: string | null;
  limit: number;
  /** Where the previous page ended: received_at in microseconds since the epoch, and the id. */
  cursor: { receivedUs: string; id: string } | null;
}

const KNOWN = ['near', 'radiusM', 'bbox', 'from', 'to', 'flag', 'mediaType', 'q', 'limit', 'cursor'];
const EARTH_RADIUS_M = 6_371_008.8;

function numbers(raw: string, count: number): number[] | null {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== count || parts.some((p) => !/^-?\d+(\.\d+)?$/.test(p))) return null;
  return parts.map(Number);
}

/** Parses the listing's query string; every problem names its parameter. */
export function parseListQuery(raw: Record<string, unknown>): EvidenceListQuery {
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

  let near: EvidenceListQuery['near'] = null;
  const nearRaw = text('near');
  const radiusRaw = text('radiusM');
  if (nearRaw !== null) {
    const point = numbers(nearRaw, 2);
    const radiusM = radiusRaw === null ? 1000 : Number(radiusRaw);
    if (!point || Math.abs(point[0]!) > 90 || Math.abs(point[1]!) > 180) problems.push({ field: 'near', message: 'must be lat,lon in range' });
    else if (!Number.isFinite(radiusM) || radiusM <= 0 || radiusM > 20_000_000) problems.push({ field: 'radiusM', message: 'must be metres, 0 < r <= 20000000' });
    else near = { lat: point[0]!, lon: point[1]!, radiusM };
  } else if (radiusRaw !== null) problems.push({ field: 'radiusM', message: 'needs near' });

  let bbox: EvidenceListQuery['bbox'] = null;
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

  const flagRaw = text('flag');
  if (flagRaw !== null && !EVIDENCE_FLAGS.includes(flagRaw as EvidenceFlag)) {
    problems.push({ field: 'flag', message: `must be one of ${EVIDENCE_FLAGS.join(', ')}` });
  }
  const mediaType = text('mediaType');
  if (mediaType !== null && !/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/i.test(mediaType)) problems.push({ field: 'mediaType', message: 'must be type/subtype or type/*' });
  const q = text('q');
  if (q !== null && q.length > 200) problems.push({ field: 'q', message: 'must be at most 200 characters' });
  const limitRaw = text('limit');
  const limit = limitRaw === null ? 50 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) problems.push({ field: 'limit', message: 'must be a whole number from 1 to 200' });

  let cursor: EvidenceListQuery['cursor'] = null;
  const cursorRaw = text('cursor');
  if (cursorRaw !== null) {
    try {
      const [receivedUs, id] = JSON.parse(Buffer.from(cursorRaw, 'base64url').toString('utf8'));
      if (typeof receivedUs !== 'string' || !/^-?\d{1,19}$/.test(receivedUs) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error();
      cursor = { receivedUs, id };
    } catch {
      problems.push({ field: 'cursor', message: 'is not a cursor this API gave out' });
    }
  }
  if (problems.length) throw badRequest('The listing query has invalid parameters', problems);
  return { near, bbox, from, to, flag: flagRaw as EvidenceFlag | null, mediaType, q, limit, cursor };
}

/**
 * SQL conditions for the listing. Places use the GiST index over point(lon, lat) through a
 * bounding box, then the exact great-circle distance for `near`.
 */
export function listQuerySql(query: EvidenceListQuery, caseId: string, onlySubmitter: string | null): { where: string; params: unknown[] } {
  const params: unknown[] = [caseId];
  const where = ['e.case_id = $1'];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const box = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    `point(e.lon, e.lat) <@ box(point(${p(minLon)}, ${p(minLat)}), point(${p(maxLon)}, ${p(maxLat)}))`;
  const boxes = (minLon: number, minLat: number, maxLon: number, maxLat: number): string =>
    minLon <= maxLon ? box(minLon, minLat, maxLon, maxLat) : `(${box(minLon, minLat, 180, maxLat)} OR ${box(-180, minLat, maxLon, maxLat)})`;

  if (onlySubmitter) where.push(`e.submitted_by = ${p(onlySubmitter)}`);
  if (query.bbox) where.push('e.lat IS NOT NULL', boxes(query.bbox.minLon, query.bbox.minLat, query.bbox.maxLon, query.bbox.maxLat));
  if (query.near) {
    const { lat, lon, radiusM } = query.near;
    const dLat = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
    const minLat = lat - dLat;
    const maxLat = lat + dLat;
    where.push('e.lat IS NOT NULL');
    // Near a pole, or when the circle spans half the globe, a longitude band cannot bound it.
    const cosLat = Math.cos((Math.max(Math.abs(minLat), Math.abs(maxLat)) * Math.PI) / 180);
    const dLon = cosLat > 1e-6 ? dLat / cosLat : 360;
    if (maxLat < 90 && minLat > -90 && dLon < 180) {
      const wrap = (x: number): number => ((((x + 180) % 360) + 360) % 360) - 180;
      where.push(boxes(wrap(lon - dLon), minLat, wrap(lon + dLon), maxLat));
    }
    where.push(
      `2 * ${EARTH_RADIUS_M} * asin(least(1, sqrt(power(sin(radians(e.lat - ${p(lat)}) / 2), 2)
         + cos(radians(e.lat)) * cos(radians(${p(lat)})) * power(sin(radians(e.lon - ${p(lon)}) / 2), 2)))) <= ${p(radiusM)}`,
    );
  }
  if (query.from) where.push(`e.captured_at >= ${p(query.from)}`);
  if (query.to) where.push(`e.captured_at <= ${p(query.to)}`);
  if (query.flag) where.push(`${p(query.flag)} = ANY (e.flags)`);
  if (query.mediaType) {
    // Media types are case-insensitive (RFC 9110 §8.3.1).
    const type = query.mediaType.toLowerCase();
    if (type.endsWith('/*')) where.push(`lower(e.media_type) LIKE ${p(type.slice(0, -1) + '%')}`);
    else where.push(`lower(e.media_type) = ${p(type)}`);
  }
  if (query.q) where.push(`e.search @@ plainto_tsquery('simple', ${p(searchText(query.q))})`);
  if (query.cursor) {
    where.push(`(e.received_at, e.id) < ('epoch'::timestamptz + ${p(query.cursor.receivedUs)}::bigint * interval '1 microsecond', ${p(query.cursor.id)}::uuid)`);
  }
  return { where: where.join(' AND '), params };
}
