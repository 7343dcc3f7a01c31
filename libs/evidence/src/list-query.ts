import {
  anyPlaceCondition,
  cursorCondition,
  ListingQuery,
  overlapConditions,
  searchText,
  sqlParams,
  ZONELESS_WINDOW_MS,
  type BBox,
  type Cursor,
  type Near,
  type PointColumns,
} from '#custodia/search';
import { EVIDENCE_FLAGS, type EvidenceFlag } from './flags.js';

/** Which of an item's positions a place search looks at. */
export const LOCATION_SOURCES = ['any', 'declared', 'embedded'] as const;
export type LocationSource = (typeof LOCATION_SOURCES)[number];

/** A case listing's filters, parsed from the query string. */
export interface EvidenceListQuery {
  near: Near | null;
  bbox: BBox | null;
  /** `any` (the default): the declared or the embedded position matches. */
  locationSource: LocationSource;
  from: Date | null;
  to: Date | null;
  flag: EvidenceFlag | null;
  mediaType: string | null;
  q: string | null;
  limit: number;
  /** Where the previous page ended: received_at in microseconds, and the id. */
  cursor: Cursor | null;
}

const KNOWN = ['near', 'radiusM', 'bbox', 'locationSource', 'from', 'to', 'flag', 'mediaType', 'q', 'limit', 'cursor'];

/** Parses the listing's query string; every problem names its parameter. */
export function parseListQuery(raw: Record<string, unknown>): EvidenceListQuery {
  const read = new ListingQuery(raw, KNOWN);
  const near = read.near();
  const bbox = read.bbox();
  const locationSource = read.choice('locationSource', LOCATION_SOURCES, 'any');
  // Like radiusM without near: a position source with no place to search is a mistake.
  if (read.has('locationSource') && !read.has('near') && !read.has('bbox')) read.problem('locationSource', 'needs near or bbox');
  const { from, to } = read.timeRange();
  const flag = read.text('flag');
  if (flag !== null && !EVIDENCE_FLAGS.includes(flag as EvidenceFlag)) read.problem('flag', `must be one of ${EVIDENCE_FLAGS.join(', ')}`);
  const mediaType = read.text('mediaType');
  if (mediaType !== null && !/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/i.test(mediaType)) read.problem('mediaType', 'must be type/subtype or type/*');
  const q = read.q();
  const limit = read.limit();
  const cursor = read.cursor();
  read.done();
  return { near, bbox, locationSource, from, to, flag: flag as EvidenceFlag | null, mediaType, q, limit, cursor };
}

/** The two positions of an item, each with its own GiST index on point(lon, lat). */
const POSITIONS: Record<Exclude<LocationSource, 'any'>, PointColumns> = {
  declared: { lat: 'e.declared_lat', lon: 'e.declared_lon' },
  embedded: { lat: 'e.extracted_lat', lon: 'e.extracted_lon' },
};

/**
 * SQL conditions of the listing (`e` is evidence_items).
 *
 * Places: `locationSource` picks the declared position, the embedded one, or either (`any`).
 *
 * Time: an item matches `from`/`to` when its searched interval [search_from, search_to]
 * overlaps [from, to], ends included. That interval is (see `captureInterval`) the file's
 * instant when it gives an offset; else the 26-hour window of its zone-less camera time
 * (`timeApproximate` in the answer); else the declared instant; else the receipt time. So
 * no item drops out of a time search, and no interval is longer than 26 hours, which lets the
 * (case_id, search_from) index find every overlap in one range scan.
 */
export function listQuerySql(query: EvidenceListQuery, caseId: string, onlySubmitter: string | null): { where: string; params: unknown[] } {
  const { params, p } = sqlParams([caseId]);
  const where = ['e.case_id = $1'];
  if (onlySubmitter) where.push(`e.submitted_by = ${p(onlySubmitter)}`);
  const positions = query.locationSource === 'any' ? [POSITIONS.declared, POSITIONS.embedded] : [POSITIONS[query.locationSource]];
  where.push(...anyPlaceCondition(positions, query.bbox, query.near, p));
  where.push(...overlapConditions('e.search_from', 'e.search_to', query, ZONELESS_WINDOW_MS, p));
  if (query.flag) where.push(`${p(query.flag)} = ANY (e.flags)`);
  if (query.mediaType) {
    // Media types are case-insensitive (RFC 9110 §8.3.1).
    const type = query.mediaType.toLowerCase();
    if (type.endsWith('/*')) where.push(`lower(e.media_type) LIKE ${p(type.slice(0, -1) + '%')}`);
    else where.push(`lower(e.media_type) = ${p(type)}`);
  }
  if (query.q) where.push(`e.search @@ plainto_tsquery('simple', ${p(searchText(query.q))})`);
  if (query.cursor) where.push(cursorCondition('e.received_at', 'e.id', query.cursor, p));
  return { where: where.join(' AND '), params };
}
