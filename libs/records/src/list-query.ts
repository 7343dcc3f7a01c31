import { cursorCondition, ListingQuery, placeConditions, searchText, sqlParams, type BBox, type Cursor, type Near } from '#custodia/search';

/** An incident listing's filters, parsed from the query string. */
export interface IncidentListQuery {
  near: Near | null;
  bbox: BBox | null;
  from: Date | null;
  to: Date | null;
  type: string | null;
  weaponType: string | null;
  grade: string | null;
  verificationStatus: string | null;
  q: string | null;
  limit: number;
  /** Where the previous page ended: start_at in microseconds since the epoch, and the id. */
  cursor: Cursor | null;
}

const KNOWN = ['near', 'radiusM', 'bbox', 'from', 'to', 'type', 'weaponType', 'grade', 'verificationStatus', 'q', 'limit', 'cursor'];

/** Parses the listing's query string; every problem names its parameter. */
export function parseIncidentQuery(raw: Record<string, unknown>): IncidentListQuery {
  const read = new ListingQuery(raw, KNOWN);
  const near = read.near();
  const bbox = read.bbox();
  const { from, to } = read.timeRange();
  const code = (name: string): string | null => {
    const value = read.text(name);
    if (value !== null && !/^[a-z0-9_.]{1,100}$/.test(value)) read.problem(name, 'must be a vocabulary code');
    return value;
  };
  const type = code('type');
  const weaponType = code('weaponType');
  const grade = code('grade');
  const verificationStatus = code('verificationStatus');
  const q = read.q();
  const limit = read.limit();
  const cursor = read.cursor();
  read.done();
  return { near, bbox, from, to, type, weaponType, grade, verificationStatus, q, limit, cursor };
}

/** SQL conditions of an incident listing; `weaponTypes` is the asked type with its descendants. */
export function incidentQuerySql(query: IncidentListQuery, caseId: string, weaponTypes: string[] | null): { where: string; params: unknown[] } {
  const { params, p } = sqlParams([caseId]);
  const where = ['i.case_id = $1', ...placeConditions('i', query.bbox, query.near, p)];
  // An incident is in a time range when it started in it (the indexed column).
  if (query.from) where.push(`i.start_at >= ${p(query.from)}`);
  if (query.to) where.push(`i.start_at <= ${p(query.to)}`);
  if (query.type) where.push(`i.type = ${p(query.type)}`);
  if (weaponTypes) where.push(`i.weapon_types && ${p(weaponTypes)}::text[]`);
  if (query.grade) where.push(`i.grade = ${p(query.grade)}`);
  if (query.verificationStatus) where.push(`i.verification_status = ${p(query.verificationStatus)}`);
  if (query.q) where.push(`i.search @@ plainto_tsquery('simple', ${p(searchText(query.q))})`);
  if (query.cursor) where.push(cursorCondition('i.start_at', 'i.id', query.cursor, p));
  return { where: where.join(' AND '), params };
}
