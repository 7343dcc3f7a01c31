import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { cursorCondition, placeConditions, searchText, sqlParams, type BBox, type Cursor, type Near } from '#custodia/search';
import type { IncidentRecord } from './incident.schema.js';

type Db = DataSource | EntityManager;

/** An incident row as the service reads it. */
export interface StoredIncident {
  id: string;
  caseId: string;
  code: string;
  /** The stored document: older versions may still carry the `evidence` links they were written with. */
  record: IncidentRecord & { evidence?: unknown };
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  /** start_at in microseconds since the epoch (the listing's cursor). */
  startUs: string;
}

/** What a listing asks for; `weaponTypes` is the asked type with its narrower ones. */
export interface IncidentFilters {
  caseId: string;
  /** Only the incidents this user reported (the `own` scope); null for all. */
  reportedBy: string | null;
  near: Near | null;
  bbox: BBox | null;
  from: Date | null;
  to: Date | null;
  type: string | null;
  weaponTypes: string[] | null;
  grade: string | null;
  verificationStatus: string | null;
  q: string | null;
  cursor: Cursor | null;
}

/** The columns the searches index, copied from the record in the same statement. */
interface IncidentColumns {
  code: string;
  record: IncidentRecord;
  type: string;
  start_at: string;
  end_at: string | null;
  lat: number | null;
  lon: number | null;
  grade: string | null;
  verification_status: string;
  weapon_types: string[];
  search_text: string;
}

const SELECT = `SELECT i.id, i.case_id AS "caseId", i.code, i.record, i.created_by AS "createdBy", i.created_at AS "createdAt",
                       i.updated_at AS "updatedAt", (extract(epoch FROM i.start_at) * 1000000)::bigint::text AS "startUs"
                  FROM incidents i`;

/** The SQL conditions of a listing (exported for the search's test against brute force). */
export function incidentConditions(filters: IncidentFilters): { where: string; params: unknown[] } {
  const { params, p } = sqlParams();
  const where = [`i.case_id = ${p(filters.caseId)}`, ...placeConditions('i', filters.bbox, filters.near, p)];
  if (filters.reportedBy) where.push(`i.created_by = ${p(filters.reportedBy)}`);
  // An incident is in a time range when it started in it (the indexed column).
  if (filters.from) where.push(`i.start_at >= ${p(filters.from)}`);
  if (filters.to) where.push(`i.start_at <= ${p(filters.to)}`);
  if (filters.type) where.push(`i.type = ${p(filters.type)}`);
  if (filters.weaponTypes) where.push(`i.weapon_types && ${p(filters.weaponTypes)}::text[]`);
  if (filters.grade) where.push(`i.grade = ${p(filters.grade)}`);
  if (filters.verificationStatus) where.push(`i.verification_status = ${p(filters.verificationStatus)}`);
  if (filters.q) where.push(`i.search @@ plainto_tsquery('simple', ${p(searchText(filters.q))})`);
  if (filters.cursor) where.push(cursorCondition('i.start_at', 'i.id', filters.cursor, p));
  return { where: where.join(' AND '), params };
}

/** The incidents table. */
@Injectable()
export class IncidentsRepository {
  constructor(private readonly db: DataSource) {}

  async find(id: string, options: { tx?: EntityManager; lock?: boolean } = {}): Promise<StoredIncident | null> {
    const [row] = await (options.tx ?? this.db).query(`${SELECT} WHERE i.id = $1 ${options.lock ? 'FOR NO KEY UPDATE' : ''}`, [id]);
    return (row as StoredIncident | undefined) ?? null;
  }

  /** A page of a listing, latest start first; one row more than `limit` tells there is a next page. */
  list(filters: IncidentFilters, limit: number): Promise<StoredIncident[]> {
    const { where, params } = incidentConditions(filters);
    return this.db.query(`${SELECT} WHERE ${where} ORDER BY i.start_at DESC, i.id DESC LIMIT ${Number(limit) + 1}`, params);
  }

  /** A case's incidents (those named, when `ids` is given), earliest start first. */
  ofCase(caseId: string, ids: readonly string[] | null = null, db: Db = this.db): Promise<StoredIncident[]> {
    return db.query(`${SELECT} WHERE i.case_id = $1 AND ($2::uuid[] IS NULL OR i.id = ANY ($2::uuid[])) ORDER BY i.start_at, i.id`, [caseId, ids]);
  }

  /** The ids of a case's incidents, earliest start first (the order of ofCase). */
  async idsOfCase(caseId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM incidents WHERE case_id = $1 ORDER BY start_at, id`, [caseId]);
    return rows.map((row) => row.id);
  }

  /** The code of each of a case's incidents, by id. */
  async codesOfCase(caseId: string): Promise<Map<string, string>> {
    const rows: { id: string; code: string }[] = await this.db.query(`SELECT id, code FROM incidents WHERE case_id = $1`, [caseId]);
    return new Map(rows.map((row) => [row.id, row.code]));
  }

  /** Which of `ids` are incidents of the case (of any case: null) and reported by `createdBy` (by anyone: null). */
  async idsAmong(db: DataSource | EntityManager, ids: readonly string[], where: { caseId: string | null; createdBy: string | null }): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await db.query(
      `SELECT id FROM incidents WHERE id = ANY ($1::uuid[]) AND ($2::uuid IS NULL OR case_id = $2) AND ($3::uuid IS NULL OR created_by = $3)`,
      [ids, where.caseId, where.createdBy],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Held until COMMIT by every write that gives an incident of the case a code, chosen or given:
   * a code chosen (nextCode) is then never one a concurrent write is giving.
   */
  async holdCodes(tx: EntityManager, caseId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('incident-code:' || $1))`, [caseId]);
  }

  /** INC-0001, INC-0002, ... per case, under the case's code lock so two creations do not collide. */
  async nextCode(tx: EntityManager, caseId: string): Promise<string> {
    await this.holdCodes(tx, caseId);
    const [row] = await tx.query(`SELECT count(*)::int AS n FROM incidents WHERE case_id = $1`, [caseId]);
    for (let n = row.n + 1; ; n++) {
      const code = `INC-${String(n).padStart(4, '0')}`;
      const [taken] = await tx.query(`SELECT 1 FROM incidents WHERE case_id = $1 AND code = $2`, [caseId, code]);
      if (!taken) return code;
    }
  }

  async insert(tx: EntityManager, incident: { id: string; caseId: string; createdBy: string; record: IncidentRecord & { code: string } }): Promise<void> {
    await tx.query(
      `INSERT INTO incidents (id, case_id, code, record, type, start_at, end_at, lat, lon, grade, verification_status, weapon_types, search_text, created_by)
       SELECT id, case_id, code, record, type, start_at, end_at, lat, lon, grade, verification_status, weapon_types, search_text, created_by
         FROM jsonb_populate_record(NULL::incidents, $1::jsonb)`,
      [JSON.stringify({ id: incident.id, case_id: incident.caseId, created_by: incident.createdBy, ...columnsOf(incident.record) })],
    );
  }

  async update(tx: EntityManager, id: string, record: IncidentRecord & { code: string }): Promise<void> {
    await tx.query(
      `UPDATE incidents i
          SET (code, record, type, start_at, end_at, lat, lon, grade, verification_status, weapon_types, search_text, updated_at) =
              (r.code, r.record, r.type, r.start_at, r.end_at, r.lat, r.lon, r.grade, r.verification_status, r.weapon_types, r.search_text, clock_timestamp())
         FROM jsonb_populate_record(NULL::incidents, $2::jsonb) r
        WHERE i.id = $1`,
      [id, JSON.stringify(columnsOf(record))],
    );
  }
}

/** The row's columns besides its id, case and reporter: the record and the copies the searches index. */
function columnsOf(record: IncidentRecord & { code: string }): IncidentColumns {
  return {
    code: record.code,
    record,
    type: record.type,
    start_at: record.startAt,
    end_at: record.endAt,
    lat: record.location?.lat ?? null,
    lon: record.location?.lon ?? null,
    grade: record.grade,
    verification_status: record.verificationStatus,
    weapon_types: [...new Set(record.weapons.map((w) => w.weaponType))],
    search_text: searchText(record.code, record.title, record.description, record.placeName),
  };
}
