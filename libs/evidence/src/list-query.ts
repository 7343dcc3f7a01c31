import { cursorCondition, ListingQuery, placeConditions, searchText, sqlParams, type BBox, type Cursor, type Near } from '#custodia/search';
import { EVIDENCE_FLAGS, type EvidenceFlag } from './flags.js';

/** A case listing's filters, parsed from the query string. */
export interface EvidenceListQuery {
  near: Near | null;
  bbox: BBox | null;
  from: Date | null;
  to: Date | null;
  flag: EvidenceFlag | null;
  mediaType: string | null;
  q: string | null;
  limit: number;
  /** Where the previous page ended: received_at in microseconds, and the id. */
  cursor: Cursor | null;
}

const KNOWN = ['near', 'radiusM', 'bbox', 'from', 'to', 'flag', 'mediaType', 'q', 'limit', 'cursor'];

/** Parses the listing's query string; every problem names its parameter. */
export function parseListQuery(raw: Record<string, unknown>): EvidenceListQuery {
  const read = new ListingQuery(raw, KNOWN);
  const near = read.near();
  const bbox = read.bbox();
  const { from, to } = read.timeRange();
  const flag = read.text('flag');
  if (flag !== null && !EVIDENCE_FLAGS.includes(flag as EvidenceFlag)) read.problem('flag', `must be one of ${EVIDENCE_FLAGS.join(', ')}`);
  const mediaType = read.text('mediaType');
  if (mediaType !== null && !/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/i.test(mediaType)) read.problem('mediaType', 'must be type/subtype or type/*');
  const q = read.q();
  const limit = read.limit();
  const cursor = read.cursor();
  read.done();
  return { near, bbox, from, to, flag: flag as EvidenceFlag | null, mediaType, q, limit, cursor };
}

/** SQL conditions of the listing (`e` is evidence_items); places use the GiST index. */
export function listQuerySql(query: EvidenceListQuery, caseId: string, onlySubmitter: string | null): { where: string; params: unknown[] } {
  const { params, p } = sqlParams([caseId]);
  const where = ['e.case_id = $1'];
  if (onlySubmitter) where.push(`e.submitted_by = ${p(onlySubmitter)}`);
  where.push(...placeConditions('e', query.bbox, query.near, p));
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
  if (query.cursor) where.push(cursorCondition('e.received_at', 'e.id', query.cursor, p));
  return { where: where.join(' AND '), params };
}
