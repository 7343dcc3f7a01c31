import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CountRange } from '../record-fields.js';
import type { HarmBreakdown } from '../incidents/incident.schema.js';
import type { CasualtyRecord } from './casualty.schema.js';

type Db = DataSource | EntityManager;

/** A casualty row as the service reads it. */
export interface StoredCasualty {
  id: string;
  incidentId: string;
  caseId: string;
  record: CasualtyRecord;
  namesSealed: Buffer | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Figures of an incident derived from its casualty records. */
export interface DerivedFigures {
  killed: CountRange;
  injured: CountRange;
  civilianKilled: CountRange;
  breakdown: { killed: HarmBreakdown; injured: HarmBreakdown };
}

const COLUMNS = `c.id, c.incident_id AS "incidentId", c.case_id AS "caseId", c.record, c.names_sealed AS "namesSealed",
                 c.created_at AS "createdAt", c.updated_at AS "updatedAt"`;
const SELECT = `SELECT ${COLUMNS} FROM casualties c`;

/** The columns the figures and listings read, copied from the record in the same statement. */
function columnsOf(record: CasualtyRecord) {
  const size = record.countingUnit === 'group' && record.groupSize ? record.groupSize : { min: 1, max: 1 };
  return { record, counting_unit: record.countingUnit, count_min: size.min, count_max: size.max, harm_status: record.harmStatus, status: record.status };
}

const emptyBreakdown = (): HarmBreakdown => ({ men: 0, women: 0, boys: 0, girls: 0, childrenUnknownSex: 0, adultsUnknownSex: 0 });

/** The casualties table. */
@Injectable()
export class CasualtiesRepository {
  constructor(private readonly db: DataSource) {}

  async find(id: string, options: { tx?: EntityManager; lock?: boolean } = {}): Promise<StoredCasualty | null> {
    const [row] = await (options.tx ?? this.db).query(`${SELECT} WHERE c.id = $1 ${options.lock ? 'FOR NO KEY UPDATE' : ''}`, [id]);
    return (row as StoredCasualty | undefined) ?? null;
  }

  /** The casualty records of these incidents, in the order they were recorded. */
  ofIncidents(incidentIds: readonly string[], db: Db = this.db): Promise<StoredCasualty[]> {
    return db.query(`${SELECT} WHERE c.incident_id = ANY ($1::uuid[]) ORDER BY c.created_at, c.id`, [incidentIds]);
  }

  /** The ids of a case's casualty records in the CSV's order: by incident (earliest start first), then as recorded. */
  async idsOfCase(caseId: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT c.id FROM casualties c JOIN incidents i ON i.id = c.incident_id WHERE c.case_id = $1 ORDER BY i.start_at, i.id, c.created_at, c.id`,
      [caseId],
    );
    return rows.map((row) => row.id);
  }

  /** These casualty records (ids of idsOfCase) with their incident's code, in the order of `ids`. */
  withIncidentCodes(ids: readonly string[]): Promise<(StoredCasualty & { incidentCode: string })[]> {
    return this.db.query(
      `SELECT ${COLUMNS}, i.code AS "incidentCode"
         FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) JOIN casualties c ON c.id = k.id JOIN incidents i ON i.id = c.incident_id
        ORDER BY k.n`,
      [ids],
    );
  }

  async insert(
    tx: EntityManager,
    casualty: { id: string; incidentId: string; caseId: string; createdBy: string; record: CasualtyRecord; namesSealed: Buffer | null },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO casualties (id, incident_id, case_id, record, names_sealed, counting_unit, count_min, count_max, harm_status, status, created_by)
       SELECT r.id, r.incident_id, r.case_id, r.record, $2, r.counting_unit, r.count_min, r.count_max, r.harm_status, r.status, r.created_by
         FROM jsonb_populate_record(NULL::casualties, $1::jsonb) r`,
      [
        JSON.stringify({ id: casualty.id, incident_id: casualty.incidentId, case_id: casualty.caseId, created_by: casualty.createdBy, ...columnsOf(casualty.record) }),
        casualty.namesSealed,
      ],
    );
  }

  async update(tx: EntityManager, id: string, record: CasualtyRecord, namesSealed: Buffer | null): Promise<void> {
    await tx.query(
      `UPDATE casualties c
          SET (record, names_sealed, counting_unit, count_min, count_max, harm_status, status, updated_at) =
              (r.record, $3, r.counting_unit, r.count_min, r.count_max, r.harm_status, r.status, clock_timestamp())
         FROM jsonb_populate_record(NULL::casualties, $2::jsonb) r
        WHERE c.id = $1`,
      [id, JSON.stringify(columnsOf(record)), namesSealed],
    );
  }

  /**
   * Killed and injured from casualty records (rejected ones left out): an individual counts
   * one, a group its size range. The OHCHR breakdown counts identified individuals only, each by
   * its age group, else by its age.
   */
  async figuresOf(incidentIds: readonly string[], db: Db = this.db): Promise<Map<string, DerivedFigures>> {
    const figures = new Map<string, DerivedFigures>();
    if (incidentIds.length === 0) return figures;
    // An individual's age group as stated, else from the age given (a child under 18, as OHCHR
    // counts), else from an age range wholly under 18 or wholly over (one across 18 is neither).
    const rows: Record<string, string | number>[] = await db.query(
      `SELECT incident_id, harm,
              sum(count_min)::int AS min, sum(count_max)::int AS max,
              coalesce(sum(count_min) FILTER (WHERE civilian), 0)::int AS civ_min,
              coalesce(sum(count_max) FILTER (WHERE civilian), 0)::int AS civ_max,
              count(*) FILTER (WHERE individual AND sex = 'male' AND age_group IN ('adult', 'elderly'))::int AS men,
              count(*) FILTER (WHERE individual AND sex = 'female' AND age_group IN ('adult', 'elderly'))::int AS women,
              count(*) FILTER (WHERE individual AND sex = 'male' AND age_group = 'child')::int AS boys,
              count(*) FILTER (WHERE individual AND sex = 'female' AND age_group = 'child')::int AS girls,
              count(*) FILTER (WHERE individual AND sex = 'unknown' AND age_group = 'child')::int AS children_unknown_sex,
              count(*) FILTER (WHERE individual AND sex = 'unknown' AND age_group IN ('adult', 'elderly'))::int AS adults_unknown_sex
         FROM (SELECT incident_id, count_min, count_max,
                      CASE WHEN harm_status IN ('killed', 'died_of_wounds') THEN 'killed' ELSE harm_status END AS harm,
                      record->>'civilianStatus' = 'civilian' AS civilian,
                      counting_unit = 'individual' AS individual,
                      coalesce(record->>'sex', 'unknown') AS sex,
                      coalesce(record->>'ageGroup',
                               CASE WHEN jsonb_typeof(record->'age') = 'number'
                                    THEN CASE WHEN (record->>'age')::numeric < 18 THEN 'child' ELSE 'adult' END
                                    WHEN jsonb_typeof(record->'ageRange') = 'object'
                                    THEN CASE WHEN (record->'ageRange'->>'max')::numeric < 18 THEN 'child'
                                              WHEN (record->'ageRange'->>'min')::numeric >= 18 THEN 'adult' END END) AS age_group
                 FROM casualties
                WHERE incident_id = ANY ($1::uuid[]) AND status <> 'rejected') c
        GROUP BY 1, 2`,
      [incidentIds],
    );
    for (const row of rows) {
      const id = row['incident_id'] as string;
      const f = figures.get(id) ?? {
        killed: { min: 0, max: 0 },
        injured: { min: 0, max: 0 },
        civilianKilled: { min: 0, max: 0 },
        breakdown: { killed: emptyBreakdown(), injured: emptyBreakdown() },
      };
      figures.set(id, f);
      if (row['harm'] !== 'killed' && row['harm'] !== 'injured') continue;
      const harm = row['harm'] as 'killed' | 'injured';
      f[harm] = { min: f[harm].min + Number(row['min']), max: f[harm].max + Number(row['max']) };
      if (harm === 'killed') f.civilianKilled = { min: f.civilianKilled.min + Number(row['civ_min']), max: f.civilianKilled.max + Number(row['civ_max']) };
      const b = f.breakdown[harm];
      b.men! += Number(row['men']);
      b.women! += Number(row['women']);
      b.boys! += Number(row['boys']);
      b.girls! += Number(row['girls']);
      b.childrenUnknownSex! += Number(row['children_unknown_sex']);
      b.adultsUnknownSex! += Number(row['adults_unknown_sex']);
    }
    return figures;
  }
}
