import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { cursorCondition, sqlParams, type Cursor } from '#custodia/search';
import type { RemnantRecord } from './remnant.schema.js';

type Db = DataSource | EntityManager;

/** A remnant row as the service reads it. */
export interface StoredRemnant {
  id: string;
  incidentId: string;
  caseId: string;
  record: RemnantRecord;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  /** created_at in microseconds since the epoch (the listing's cursor). */
  createdUs: string;
  /** The serial's skeleton (a serial-prefix listing's cursor). */
  serialSkeleton: string | null;
}

/** Where a page ended: at a time (latest first), or at a serial (a serial-prefix search, in serial order). */
export type RemnantCursor = Cursor | { serial: string; id: string };

/** A hand-over of a remnant, as stored. */
export interface StoredTransfer {
  id: string;
  remnantId: string;
  holder: string;
  place: string;
  fromAt: Date;
  note: string | null;
  recordedBy: string;
  recordedAt: Date;
}

/** What a listing asks for; the codes are the asked ones with their narrower ones. */
export interface RemnantFilters {
  caseId: string;
  /** Only the remnants this user reported (the `own` scope); null for all. */
  reportedBy: string | null;
  incidentId: string | null;
  weaponTypes: string[] | null;
  components: string[] | null;
  serialPrefix: string | null;
  q: string | null;
  cursor: RemnantCursor | null;
}

/** A serial number seen under a known scheme, with when it was seen. */
export interface SerialSighting {
  remnantId: string;
  incidentId: string;
  scheme: string;
  series: string;
  number: number;
  serialNumber: string;
  seenAt: Date;
}

const COLUMNS = `r.id, r.incident_id AS "incidentId", r.case_id AS "caseId", r.record, r.created_by AS "createdBy",
                 r.created_at AS "createdAt", r.updated_at AS "updatedAt",
                 (extract(epoch FROM r.created_at) * 1000000)::bigint::text AS "createdUs", r.serial_skeleton AS "serialSkeleton"`;
const SELECT = `SELECT ${COLUMNS} FROM remnants r`;

/** A LIKE pattern's literal part: its wildcards and escape character taken literally. */
const likeLiteral = (sqlText: string): string => `replace(replace(replace(${sqlText}, '\\', '\\\\'), '%', '\\%'), '_', '\\_')`;

/** Anything that runs SQL and answers rows (a DataSource, an EntityManager, a wrapped pg client). */
export interface RowSource {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** How many text matches are sorted by time at most, before the case's time order is walked instead. */
const TEXT_MATCHES_SORTED = 2000;

/**
 * A listing's page, one row more than `limit` when there is a next page (exported for the bench,
 * which asks the same queries). Matches cluster in time (serials read together were made
 * together), which the planner cannot know: walking the case's newest rows first to find a page
 * of rare, older matches reads most of the case. So:
 * - a serial-prefix search is in serial order, along its own index;
 * - a text search first takes its matches through the trigram index, up to
 *   TEXT_MATCHES_SORTED, and sorts those by time; only a query matching more than that (a
 *   common fragment, whose matches are everywhere, so a walk finds a page soon) walks the time order.
 */
export async function remnantPage(db: RowSource, filters: RemnantFilters, limit: number): Promise<StoredRemnant[]> {
  const { where, params } = remnantConditions(filters);
  const take = Number(limit) + 1;
  const rowsOf = (sql: string) => db.query(sql, params) as Promise<StoredRemnant[]>;
  if (filters.serialPrefix) return rowsOf(`${SELECT} WHERE ${where} ORDER BY r.serial_skeleton COLLATE "C", r.id LIMIT ${take}`);
  const byTime = `${SELECT} WHERE ${where} ORDER BY r.created_at DESC, r.id DESC LIMIT ${take}`;
  if (!filters.q) return rowsOf(byTime);
  const rows = (await db.query(
    `WITH hits AS MATERIALIZED (SELECT r.id, r.created_at FROM remnants r WHERE ${where} LIMIT ${TEXT_MATCHES_SORTED + 1}),
          page AS (SELECT id FROM hits ORDER BY created_at DESC, id DESC LIMIT ${take})
     SELECT ${COLUMNS}, (SELECT count(*) FROM hits) AS matches
       FROM page JOIN remnants r ON r.id = page.id
      ORDER BY r.created_at DESC, r.id DESC`,
    params,
  )) as (StoredRemnant & { matches: string })[];
  if (rows.length > 0 && Number(rows[0]!.matches) > TEXT_MATCHES_SORTED) return rowsOf(byTime);
  return rows.map(({ matches: _m, ...row }) => row);
}

function remnantConditions(filters: RemnantFilters): { where: string; params: unknown[] } {
  const { params, p } = sqlParams();
  const where = [`r.case_id = ${p(filters.caseId)}`];
  if (filters.reportedBy) where.push(`r.created_by = ${p(filters.reportedBy)}`);
  if (filters.incidentId) where.push(`r.incident_id = ${p(filters.incidentId)}`);
  if (filters.weaponTypes) where.push(`r.weapon_type = ANY (${p(filters.weaponTypes)}::text[])`);
  if (filters.components) where.push(`r.component = ANY (${p(filters.components)}::text[])`);
  // Both sides through the database's one skeleton function (migration 1764001300000).
  if (filters.serialPrefix) where.push(`r.serial_skeleton COLLATE "C" LIKE ${likeLiteral(`marking_skeleton(${p(filters.serialPrefix)})`)} || '%'`);
  if (filters.q) where.push(`r.marking_skeleton LIKE '%' || ${likeLiteral(`marking_skeleton(${p(filters.q)})`)} || '%'`);
  if (filters.cursor && 'serial' in filters.cursor) where.push(`(r.serial_skeleton COLLATE "C", r.id) > (${p(filters.cursor.serial)} COLLATE "C", ${p(filters.cursor.id)}::uuid)`);
  else if (filters.cursor) where.push(cursorCondition('r.created_at', 'r.id', filters.cursor, p));
  return { where: where.join(' AND '), params };
}

/** The remnants and remnant_transfers tables. */
@Injectable()
export class RemnantsRepository {
  constructor(private readonly db: DataSource) {}

  async find(id: string, options: { tx?: EntityManager; lock?: boolean } = {}): Promise<StoredRemnant | null> {
    const [row] = await (options.tx ?? this.db).query(`${SELECT} WHERE r.id = $1 ${options.lock ? 'FOR NO KEY UPDATE' : ''}`, [id]);
    return (row as StoredRemnant | undefined) ?? null;
  }

  /** The remnants of these incidents, in the order they were recorded (the reporter's own when `reportedBy`). */
  ofIncidents(incidentIds: readonly string[], reportedBy: string | null = null, db: Db = this.db): Promise<StoredRemnant[]> {
    return db.query(`${SELECT} WHERE r.incident_id = ANY ($1::uuid[]) AND ($2::uuid IS NULL OR r.created_by = $2) ORDER BY r.created_at, r.id`, [
      incidentIds,
      reportedBy,
    ]);
  }

  /** The ids of a case's remnants in the order they were recorded. */
  async idsOfCase(caseId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM remnants WHERE case_id = $1 ORDER BY created_at, id`, [caseId]);
    return rows.map((row) => row.id);
  }

  /** These remnants, in the order of `ids`. */
  byIds(ids: readonly string[]): Promise<StoredRemnant[]> {
    return this.db.query(`SELECT ${COLUMNS} FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) JOIN remnants r ON r.id = k.id ORDER BY k.n`, [ids]);
  }

  /** A page of a listing (latest first, or in serial order); one row more than `limit` tells there is a next page. */
  list(filters: RemnantFilters, limit: number): Promise<StoredRemnant[]> {
    return remnantPage(this.db, filters, limit);
  }

  async insert(tx: EntityManager, remnant: { id: string; incidentId: string; caseId: string; createdBy: string; record: RemnantRecord }): Promise<void> {
    await tx.query(`INSERT INTO remnants (id, incident_id, case_id, record, created_by) VALUES ($1, $2, $3, $4::jsonb, $5)`, [
      remnant.id,
      remnant.incidentId,
      remnant.caseId,
      JSON.stringify(remnant.record),
      remnant.createdBy,
    ]);
  }

  async update(tx: EntityManager, id: string, record: RemnantRecord): Promise<void> {
    await tx.query(`UPDATE remnants SET record = $2::jsonb, updated_at = clock_timestamp() WHERE id = $1`, [id, JSON.stringify(record)]);
  }

  /** The hand-overs of these remnants, per remnant in the order the object moved. */
  async transfersOf(remnantIds: readonly string[], db: Db = this.db): Promise<Map<string, StoredTransfer[]>> {
    const rows: StoredTransfer[] = await db.query(
      `SELECT id, remnant_id AS "remnantId", holder, place, from_at AS "fromAt", note, recorded_by AS "recordedBy", recorded_at AS "recordedAt"
         FROM remnant_transfers WHERE remnant_id = ANY ($1::uuid[]) ORDER BY remnant_id, from_at, recorded_at, id`,
      [remnantIds],
    );
    const byRemnant = new Map<string, StoredTransfer[]>();
    for (const row of rows) {
      const chain = byRemnant.get(row.remnantId);
      if (chain) chain.push(row);
      else byRemnant.set(row.remnantId, [row]);
    }
    return byRemnant;
  }

  async insertTransfer(tx: EntityManager, transfer: StoredTransfer & { caseId: string }): Promise<void> {
    await tx.query(
      `INSERT INTO remnant_transfers (id, remnant_id, case_id, holder, place, from_at, note, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [transfer.id, transfer.remnantId, transfer.caseId, transfer.holder, transfer.place, transfer.fromAt, transfer.note, transfer.recordedBy, transfer.recordedAt],
    );
  }

  /** Every serial of a case read under these schemes, with when it was seen: recovered at, else the incident's start. */
  serialSightings(caseId: string, filters: { schemes: readonly string[]; reportedBy: string | null }): Promise<SerialSighting[]> {
    return this.db.query(
      `SELECT r.id AS "remnantId", r.incident_id AS "incidentId", r.serial_scheme AS scheme, r.serial_series AS series,
              r.serial_number::float8 AS number, r.record ->> 'serialNumber' AS "serialNumber",
              coalesce((r.record ->> 'recoveredAt')::timestamptz, i.start_at) AS "seenAt"
         FROM remnants r JOIN incidents i ON i.id = r.incident_id
        WHERE r.case_id = $1 AND r.serial_scheme = ANY ($2::text[])
          AND ($3::uuid IS NULL OR r.created_by = $3)
        ORDER BY r.serial_scheme, r.serial_series, r.serial_number, "seenAt", r.id`,
      [caseId, filters.schemes, filters.reportedBy],
    );
  }
}
