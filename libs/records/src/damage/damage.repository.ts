import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { DamageRecord } from './damage.schema.js';

type Db = DataSource | EntityManager;

/** A damage record row as the service reads it. */
export interface StoredDamage {
  id: string;
  incidentId: string;
  caseId: string;
  record: DamageRecord;
  createdAt: Date;
  updatedAt: Date;
}

const SELECT = `SELECT d.id, d.incident_id AS "incidentId", d.case_id AS "caseId", d.record, d.created_at AS "createdAt", d.updated_at AS "updatedAt"
                  FROM damage_records d`;

/** The columns the searches read, copied from the record in the same statement. */
const columnsOf = (record: DamageRecord) => ({
  record,
  lat: record.location?.lat ?? null,
  lon: record.location?.lon ?? null,
  damage_level: record.damageLevel,
  status: record.status,
});

/** The damage_records table. */
@Injectable()
export class DamageRepository {
  constructor(private readonly db: DataSource) {}

  async find(id: string, options: { tx?: EntityManager; lock?: boolean } = {}): Promise<StoredDamage | null> {
    const [row] = await (options.tx ?? this.db).query(`${SELECT} WHERE d.id = $1 ${options.lock ? 'FOR NO KEY UPDATE' : ''}`, [id]);
    return (row as StoredDamage | undefined) ?? null;
  }

  /** The damage records of these incidents, in the order they were recorded. */
  ofIncidents(incidentIds: readonly string[], db: Db = this.db): Promise<StoredDamage[]> {
    return db.query(`${SELECT} WHERE d.incident_id = ANY ($1::uuid[]) ORDER BY d.created_at, d.id`, [incidentIds]);
  }

  async insert(tx: EntityManager, damage: { id: string; incidentId: string; caseId: string; createdBy: string; record: DamageRecord }): Promise<void> {
    await tx.query(
      `INSERT INTO damage_records (id, incident_id, case_id, record, lat, lon, damage_level, status, created_by)
       SELECT id, incident_id, case_id, record, lat, lon, damage_level, status, created_by FROM jsonb_populate_record(NULL::damage_records, $1::jsonb)`,
      [JSON.stringify({ id: damage.id, incident_id: damage.incidentId, case_id: damage.caseId, created_by: damage.createdBy, ...columnsOf(damage.record) })],
    );
  }

  async update(tx: EntityManager, id: string, record: DamageRecord): Promise<void> {
    await tx.query(
      `UPDATE damage_records d
          SET (record, lat, lon, damage_level, status, updated_at) = (r.record, r.lat, r.lon, r.damage_level, r.status, clock_timestamp())
         FROM jsonb_populate_record(NULL::damage_records, $2::jsonb) r
        WHERE d.id = $1`,
      [id, JSON.stringify(columnsOf(record))],
    );
  }
}
