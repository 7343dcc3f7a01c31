import {
  anyPlaceCondition,
  cursorCondition,
  overlapConditions,
  searchText,
  sqlParams,
  ZONELESS_WINDOW_MS,
  type PointColumns,
} from '#custodia/search';
import type { EvidenceListFilters, LocationSource } from './evidence.schema.js';

/** The two positions of an item, each with its own GiST index on point(lon, lat). */
const POSITIONS: Record<Exclude<LocationSource, 'any'>, PointColumns> = {
  declared: { lat: 'e.declared_lat', lon: 'e.declared_lon' },
  embedded: { lat: 'e.extracted_lat', lon: 'e.extracted_lon' },
};

/**
 * SQL conditions of the listing (`e` is evidence_items); `onlySubmitter` limits it to one
 * submitter's items (the policy's `own` scope). `searched`: whether any search condition is in
 * it (place, time, flag, type, status, tag, incident, ids, hashes, words), as opposed to paging through a case.
 *
 * Places: `locationSource` picks the declared position, the embedded one, or either (`any`).
 *
 * Time: an item matches `from`/`to` when its searched interval [search_from, search_to]
 * overlaps [from, to], ends included, or when its declared capture time lies in [from, to]. That
 * interval is (see `captureInterval`) the file's instant when it gives an offset; else the
 * 26-hour window of its zone-less camera time (`timeApproximate` in the answer); else the
 * declared instant; else the receipt time. So no item drops out of a time search, also not one
 * whose camera clock was wrong (its declared time still finds it, as either position finds it
 * for a place), and no interval is longer than 26 hours, which lets the (case_id, search_from)
 * index find every overlap in one range scan, beside (case_id, declared_captured_at).
 */
export function listQuerySql(
  query: EvidenceListFilters,
  caseId: string,
  onlySubmitter: string | null,
  nearDuplicateDistance: number,
): { where: string; params: unknown[]; searched: boolean } {
  const { params, p } = sqlParams([caseId]);
  const where = ['e.case_id = $1'];
  if (onlySubmitter) where.push(`e.submitted_by = ${p(onlySubmitter)}`);
  const browsing = where.length;
  const positions = query.locationSource === 'any' ? [POSITIONS.declared, POSITIONS.embedded] : [POSITIONS[query.locationSource]];
  where.push(...anyPlaceCondition(positions, query.bbox, query.near, p));
  const overlap = overlapConditions('e.search_from', 'e.search_to', query, ZONELESS_WINDOW_MS, p);
  if (overlap.length > 0) where.push(`((${overlap.join(' AND ')}) OR (${declaredTimeConditions(query, p).join(' AND ')}))`);
  if (query.flag) where.push(`${p(query.flag)} = ANY (e.flags)`);
  // The duplicate flags as toEvidenceView shows them to who reads only their own items: only
  // when the other item is theirs too.
  if (onlySubmitter && query.flag === 'exact_duplicate') {
    where.push(`EXISTS (SELECT 1 FROM evidence_items d WHERE d.id = e.duplicate_of AND d.submitted_by = ${p(onlySubmitter)})`);
  }
  if (onlySubmitter && query.flag === 'near_duplicate') {
    where.push(
      `EXISTS (SELECT 1 FROM evidence_near_duplicates n JOIN evidence_items o ON o.id = n.other_id
                WHERE n.evidence_id = e.id AND n.distance <= ${p(nearDuplicateDistance)} AND o.submitted_by = ${p(onlySubmitter)})`,
    );
  }
  if (query.mediaType) {
    // Media types are case-insensitive (RFC 9110 §8.3.1); a pattern holds no LIKE wildcard of its
    // own (letters, digits, '.', '+', '-': see EvidenceListQuery), so '*' is the only one.
    const types = query.mediaType.toLowerCase().split(',');
    const exact = types.filter((type) => !type.endsWith('*'));
    const prefixes = types.filter((type) => type.endsWith('*')).map((type) => `${type.slice(0, -1)}%`);
    const conditions = [
      ...(exact.length ? [`lower(e.media_type) = ANY (${p(exact)}::text[])`] : []),
      ...(prefixes.length ? [`lower(e.media_type) LIKE ANY (${p(prefixes)}::text[])`] : []),
    ];
    where.push(`(${conditions.join(' OR ')})`);
  }
  if (query.status) where.push(`e.status = ${p(query.status)}`);
  if (query.tag) where.push(`${p(query.tag)} = ANY (e.tags)`);
  if (query.incidentId) where.push(`e.incident_id = ${p(query.incidentId)}::uuid`);
  // The link as toEvidenceView shows it to who reads only their own items: one they made, or to
  // an incident they reported (else the filter would find the links the item hides).
  if (query.incidentId && onlySubmitter) {
    const self = p(onlySubmitter);
    where.push(`(e.incident_linked_by = ${self} OR EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id AND i.created_by = ${self}))`);
  }
  if (query.ids) where.push(`e.id = ANY (${p(query.ids)}::uuid[])`);
  if (query.sha256) where.push(`e.sha256 = ANY (${p(query.sha256)}::text[])`);
  if (query.q) where.push(`e.search @@ plainto_tsquery('simple', ${p(searchText(query.q))})`);
  const searched = where.length > browsing;
  if (query.cursor) where.push(cursorCondition('e.received_at', 'e.id', query.cursor, p));
  return { where: where.join(' AND '), params, searched };
}

/** The declared capture time in [from, to] (at least one of them given). */
function declaredTimeConditions(range: { from: Date | null; to: Date | null }, p: (value: unknown) => string): string[] {
  return [
    'e.declared_captured_at IS NOT NULL',
    ...(range.from ? [`e.declared_captured_at >= ${p(range.from)}`] : []),
    ...(range.to ? [`e.declared_captured_at <= ${p(range.to)}`] : []),
  ];
}
