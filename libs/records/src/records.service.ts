import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '#custodia/auth';
import { CustodyLog, MASTER_KEY } from '#custodia/custody';
import { canonicalBytes, type JsonValue } from '#custodia/custody-core';
import { isUniqueViolation } from '#custodia/db';
import { encodeCursor, searchText } from '#custodia/search';
import { badRequest, conflict, forbidden, notFound, unprocessable, type FieldProblem } from '#custodia/errors';
import { CasesService } from '#custodia/cases';
import { seal, unseal } from '#custodia/keyring';
import { assertRecordAccess, maySeeNames } from './access.js';
import { toCsv } from './csv.js';
import { incidentQuerySql, parseIncidentQuery } from './list-query.js';
import {
  readCasualty,
  readDamage,
  readIncident,
  type CasualtyNames,
  type CasualtyRecord,
  type DamageRecord,
  type HarmBreakdown,
  type IncidentRecord,
} from './schemas.js';
import { applyPatch, asObject, takeReason, type BodyReader, type CountRange } from './validation.js';
import { Vocabularies } from './vocabularies.js';


type Json = Record<string, unknown>;

/** Figures derived from an incident's casualty records. */
interface DerivedFigures {
  killed: CountRange;
  injured: CountRange;
  civilianKilled: CountRange;
  breakdown: { killed: HarmBreakdown; injured: HarmBreakdown };
}

export type IncidentView = Omit<IncidentRecord, 'code'> & {
  id: string;
  caseId: string;
  code: string;
  evidenceIds: string[];
  /** Where killed/injured come from: the casualty records when any exist, else what was entered. */
  figuresSource: 'casualty_records' | 'entered';
  entered: { killed: CountRange | null; injured: CountRange | null; civilianKilled: CountRange | null };
  unsourced: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
};

export type CasualtyView = CasualtyRecord & {
  id: string;
  incidentId: string;
  caseId: string;
  unsourced: boolean;
  createdAt: string;
  updatedAt: string;
  /** Present only for investigators of the case. */
  fullName?: string | null;
  nameVariants?: string[];
};

export type DamageView = DamageRecord & { id: string; incidentId: string; caseId: string; unsourced: boolean; createdAt: string; updatedAt: string };

interface IncidentRow {
  id: string;
  case_id: string;
  code: string;
  record: IncidentRecord;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  start_us: string;
}

/** SHA-256 hex of a value's RFC 8785 bytes: what the custody log holds of a record's state. */
export function recordHash(value: unknown): string {
  return createHash('sha256').update(canonicalBytes(value)).digest('hex');
}

/** The top-level fields whose values differ between two records. */
function changedFields(before: Json | null, after: Json): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  // Canonical bytes: jsonb does not keep the key order of objects.
  const same = (a: unknown, b: unknown): boolean => canonicalBytes(a ?? null).equals(canonicalBytes(b ?? null));
  return [...keys].filter((k) => !same(before?.[k], after[k])).sort();
}

const emptyBreakdown = (): HarmBreakdown => ({ men: 0, women: 0, boys: 0, girls: 0, childrenUnknownSex: 0, adultsUnknownSex: 0 });

/** Incidents, casualty records and damage records, each change a custody event in its transaction. */
@Injectable()
export class RecordsService {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
    private readonly vocabularies: Vocabularies,
    private readonly cases: CasesService,
    /** The master key seals casualty names (AES-256-GCM, bound to the record id). */
    @Inject(MASTER_KEY) private readonly key: Buffer,
  ) {}

  // ---- incidents -------------------------------------------------------------------------

  async createIncident(actor: Actor, caseId: string, body: unknown): Promise<IncidentView> {
    const { rest, reason } = takeReason(asObject(body, 'incident'));
    const { reader, record } = readIncident(rest);
    const id = await this.db
      .transaction(async (tx) => {
        await assertRecordAccess(this.cases, tx, actor, caseId, 'report');
        await this.assertAcceptable(tx, reader, 'incident');
        if (actor.role === 'documenter' && record.verificationStatus !== 'reported') {
          throw forbidden('Documenters may create incidents only as reported; an investigator verifies them');
        }
        await this.checkIncidentReferences(tx, reader, record, caseId, null);
        if (record.code === null) record.code = await this.nextCode(tx, caseId);
        const [row] = await tx.query(
          `INSERT INTO incidents (case_id, code, record, type, start_at, end_at, lat, lon, grade, verification_status, weapon_types, search_text, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
          [caseId, record.code, JSON.stringify(record), ...this.incidentColumns(record), actor.id],
        );
        const newSha256 = recordHash(record);
        await this.custody.append(tx, {
          action: 'incident.created',
          actor,
          caseId,
          subject: { type: 'incident', id: row.id, sha256: newSha256 },
          details: { code: record.code, previousSha256: null, newSha256, fields: changedFields(null, record as unknown as Json) },
          reason,
        });
        return row.id as string;
      })
      .catch((error) => {
        if (isUniqueViolation(error, 'incidents_case_code_key')) throw conflict(`The case already has an incident with code ${record.code}`);
        throw error;
      });
    return this.getIncident(actor, id);
  }

  /** Malformed fields: 400. Then wrong values and unknown or deprecated codes together: 422. */
  private async assertAcceptable(tx: EntityManager, reader: BodyReader, what: string): Promise<void> {
    if (reader.malformed.length) throw badRequest(`The ${what} has invalid fields`, reader.malformed);
    const problems = [...reader.wrong, ...(await this.vocabularies.problems(tx, reader.references))];
    if (problems.length) throw unprocessable(`The ${what} is well-formed but not acceptable`, problems);
  }

  private incidentColumns(record: IncidentRecord): unknown[] {
    return [
      record.type,
      record.startAt,
      record.endAt,
      record.location?.lat ?? null,
      record.location?.lon ?? null,
      record.grade,
      record.verificationStatus,
      [...new Set(record.weapons.map((w) => w.weaponType))],
      searchText(record.title, record.description, record.placeName),
    ];
  }

  /** INC-0001, INC-0002, ... per case, under a per-case lock so two creations do not collide. */
  private async nextCode(tx: EntityManager, caseId: string): Promise<string> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('incident-code:' || $1))`, [caseId]);
    const [row] = await tx.query(`SELECT count(*)::int AS n FROM incidents WHERE case_id = $1`, [caseId]);
    for (let n = row.n + 1; ; n++) {
      const code = `INC-${String(n).padStart(4, '0')}`;
      const [taken] = await tx.query(`SELECT 1 FROM incidents WHERE case_id = $1 AND code = $2`, [caseId, code]);
      if (!taken) return code;
    }
  }

  /** Codes against vocabularies, and linked evidence and incidents within the same case (422). */
  private async checkIncidentReferences(tx: EntityManager, reader: BodyReader, record: IncidentRecord, caseId: string, selfId: string | null): Promise<void> {
    const problems: FieldProblem[] = [];
    problems.push(...(await this.missingEvidence(tx, caseId, record.evidence.map((e) => e.evidenceId), 'evidence')));
    const related = record.relatedIncidents.map((r) => r.incidentId);
    if (related.length) {
      const rows: { id: string }[] = await tx.query(`SELECT id FROM incidents WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, related]);
      const found = new Set(rows.map((r) => r.id));
      related.forEach((id, i) => {
        if (id === selfId) problems.push({ field: `relatedIncidents[${i}].incidentId`, message: 'an incident is not related to itself' });
        else if (!found.has(id)) problems.push({ field: `relatedIncidents[${i}].incidentId`, message: 'is not an incident of this case' });
      });
    }
    if (problems.length) throw unprocessable('The record links to what this case does not hold', problems);
  }

  private async missingEvidence(tx: EntityManager, caseId: string, ids: string[], field: string): Promise<FieldProblem[]> {
    if (ids.length === 0) return [];
    const rows: { id: string }[] = await tx.query(`SELECT id FROM evidence_items WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, ids]);
    const found = new Set(rows.map((r) => r.id));
    return ids.flatMap((id, i) => (found.has(id) ? [] : [{ field: `${field}[${i}].evidenceId`, message: 'is not an evidence item of this case' }]));
  }

  private async incidentRow(tx: EntityManager, id: string, lock = false): Promise<IncidentRow> {
    const [row] = await tx.query(
      `SELECT id, case_id, code, record, created_by, created_at, updated_at,
              (extract(epoch FROM start_at) * 1000000)::bigint::text AS start_us
         FROM incidents WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    if (!row) throw notFound('The incident');
    return row;
  }

  async getIncident(actor: Actor, id: string): Promise<IncidentView> {
    const row = await this.incidentRow(this.db.manager, id);
    await assertRecordAccess(this.cases, this.db.manager, actor, row.case_id, 'read', 'The incident');
    const [view] = await this.incidentViews(this.db.manager, [row]);
    return view!;
  }

  async patchIncident(actor: Actor, id: string, body: unknown): Promise<IncidentView> {
    await this.db
      .transaction(async (tx) => {
        const row = await this.incidentRow(tx, id, true);
        await assertRecordAccess(this.cases, tx, actor, row.case_id, 'write', 'The incident');
        const { merged, reason } = applyPatch(row.record as unknown as Json, body, 'incident');
        const { reader, record } = readIncident(merged);
        await this.assertAcceptable(tx, reader, 'incident');
        await this.checkIncidentReferences(tx, reader, record, row.case_id, id);
        if (record.code === null) record.code = row.code;
        const fields = changedFields(row.record as unknown as Json, record as unknown as Json);
        if (fields.length === 0) return;
        await tx.query(
          `UPDATE incidents SET code = $2, record = $3, type = $4, start_at = $5, end_at = $6, lat = $7, lon = $8, grade = $9,
                  verification_status = $10, weapon_types = $11, search_text = $12, updated_at = clock_timestamp()
            WHERE id = $1`,
          [id, record.code, JSON.stringify(record), ...this.incidentColumns(record)],
        );
        const previousSha256 = recordHash(row.record);
        const newSha256 = recordHash(record);
        await this.custody.append(tx, {
          action: 'incident.updated',
          actor,
          caseId: row.case_id,
          subject: { type: 'incident', id, sha256: newSha256 },
          details: { code: record.code, previousSha256, newSha256, fields },
          reason,
        });
      })
      .catch((error) => {
        if (isUniqueViolation(error, 'incidents_case_code_key')) throw conflict('The case already has an incident with that code');
        throw error;
      });
    return this.getIncident(actor, id);
  }

  /** A case's incidents, filtered and paginated by cursor (latest start first). */
  async listIncidents(actor: Actor, caseId: string, rawQuery: Record<string, unknown>): Promise<{ items: IncidentView[]; nextCursor: string | null }> {
    const query = parseIncidentQuery(rawQuery);
    await assertRecordAccess(this.cases, this.db.manager, actor, caseId, 'read');
    let weaponTypes: string[] | null = null;
    if (query.weaponType) {
      weaponTypes = await this.vocabularies.withDescendants('weapon_type', query.weaponType);
      if (!weaponTypes) throw badRequest('Unknown weapon type', [{ field: 'weaponType', message: 'is not a code of the weapon_type vocabulary' }]);
    }
    const { where, params } = incidentQuerySql(query, caseId, weaponTypes);
    const rows: IncidentRow[] = await this.db.query(
      `SELECT i.id, i.case_id, i.code, i.record, i.created_by, i.created_at, i.updated_at,
              (extract(epoch FROM i.start_at) * 1000000)::bigint::text AS start_us
         FROM incidents i WHERE ${where} ORDER BY i.start_at DESC, i.id DESC LIMIT ${query.limit + 1}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last.start_us, last.id) : null;
    return { items: await this.incidentViews(this.db.manager, page), nextCursor };
  }

  private async incidentViews(tx: EntityManager, rows: IncidentRow[]): Promise<IncidentView[]> {
    const derived = await this.derivedFigures(tx, rows.map((r) => r.id));
    return rows.map((row) => {
      const record = row.record;
      const figures = derived.get(row.id);
      return {
        id: row.id,
        caseId: row.case_id,
        ...record,
        code: row.code,
        killed: figures ? figures.killed : record.killed,
        injured: figures ? figures.injured : record.injured,
        civilianKilled: figures ? figures.civilianKilled : record.civilianKilled,
        breakdown: figures ? figures.breakdown : record.breakdown,
        figuresSource: figures ? 'casualty_records' : 'entered',
        entered: { killed: record.killed, injured: record.injured, civilianKilled: record.civilianKilled },
        evidenceIds: [...new Set(record.evidence.map((e) => e.evidenceId))],
        unsourced: record.evidence.length === 0,
        createdBy: row.created_by,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      };
    });
  }

  /**
   * Killed and injured from casualty records (rejected ones left out): an individual counts
   * one, a group its size range. The OHCHR breakdown counts identified individuals only.
   */
  private async derivedFigures(tx: EntityManager, incidentIds: string[]): Promise<Map<string, DerivedFigures>> {
    const figures = new Map<string, DerivedFigures>();
    if (incidentIds.length === 0) return figures;
    const rows: Record<string, string | number>[] = await tx.query(
      `SELECT incident_id,
              CASE WHEN harm_status IN ('killed', 'died_of_wounds') THEN 'killed' ELSE harm_status END AS harm,
              sum(count_min)::int AS min, sum(count_max)::int AS max,
              coalesce(sum(count_min) FILTER (WHERE record->>'civilianStatus' = 'civilian'), 0)::int AS civ_min,
              coalesce(sum(count_max) FILTER (WHERE record->>'civilianStatus' = 'civilian'), 0)::int AS civ_max,
              count(*) FILTER (WHERE counting_unit = 'individual' AND record->>'sex' = 'male' AND record->>'ageGroup' IN ('adult', 'elderly'))::int AS men,
              count(*) FILTER (WHERE counting_unit = 'individual' AND record->>'sex' = 'female' AND record->>'ageGroup' IN ('adult', 'elderly'))::int AS women,
              count(*) FILTER (WHERE counting_unit = 'individual' AND record->>'sex' = 'male' AND record->>'ageGroup' = 'child')::int AS boys,
              count(*) FILTER (WHERE counting_unit = 'individual' AND record->>'sex' = 'female' AND record->>'ageGroup' = 'child')::int AS girls,
              count(*) FILTER (WHERE counting_unit = 'individual' AND coalesce(record->>'sex', 'unknown') = 'unknown' AND record->>'ageGroup' = 'child')::int AS children_unknown_sex,
              count(*) FILTER (WHERE counting_unit = 'individual' AND coalesce(record->>'sex', 'unknown') = 'unknown' AND record->>'ageGroup' IN ('adult', 'elderly'))::int AS adults_unknown_sex
         FROM casualties
        WHERE incident_id = ANY ($1::uuid[]) AND status <> 'rejected'
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

  // ---- casualties ------------------------------------------------------------------------

  private sealNames(id: string, names: CasualtyNames): Buffer | null {
    if (names.fullName === null && names.nameVariants.length === 0) return null;
    return seal(this.key, Buffer.from(JSON.stringify(names), 'utf8'), `casualty-names:${id}`);
  }

  private openNames(id: string, sealed: Buffer | null): CasualtyNames {
    if (!sealed) return { fullName: null, nameVariants: [] };
    return JSON.parse(unseal(this.key, sealed, `casualty-names:${id}`).toString('utf8'));
  }

  /** The state the custody log hashes: the record, and of the names only a hash of their ciphertext. */
  private casualtyState(record: CasualtyRecord, sealed: Buffer | null): JsonValue {
    return { ...(record as unknown as Record<string, JsonValue>), sealedNamesSha256: sealed ? createHash('sha256').update(sealed).digest('hex') : null };
  }

  private casualtyCount(record: CasualtyRecord): CountRange {
    return record.countingUnit === 'group' && record.groupSize ? record.groupSize : { min: 1, max: 1 };
  }

  async recordCasualty(actor: Actor, incidentId: string, body: unknown): Promise<CasualtyView> {
    const { rest, reason } = takeReason(asObject(body, 'casualty record'));
    const { reader, record, names } = readCasualty(rest);
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      const incident = await this.incidentRow(tx, incidentId);
      await assertRecordAccess(this.cases, tx, actor, incident.case_id, 'write', 'The incident');
      await this.assertAcceptable(tx, reader, 'casualty record');
      await this.assertSources(tx, incident.case_id, record.sources);
      const sealed = this.sealNames(id, names);
      const count = this.casualtyCount(record);
      await tx.query(
        `INSERT INTO casualties (id, incident_id, case_id, record, names_sealed, counting_unit, count_min, count_max, harm_status, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [id, incidentId, incident.case_id, JSON.stringify(record), sealed, record.countingUnit, count.min, count.max, record.harmStatus, record.status, actor.id],
      );
      const newSha256 = recordHash(this.casualtyState(record, sealed));
      await this.custody.append(tx, {
        action: 'casualty.recorded',
        actor,
        caseId: incident.case_id,
        subject: { type: 'casualty', id, sha256: newSha256 },
        details: { incidentId, previousSha256: null, newSha256, fields: changedFields(null, record as unknown as Json), namesRecorded: sealed !== null },
        reason,
      });
    });
    return this.getCasualty(actor, id);
  }

  private async assertSources(tx: EntityManager, caseId: string, sources: { evidenceId: string }[]): Promise<void> {
    const problems = await this.missingEvidence(tx, caseId, sources.map((s) => s.evidenceId), 'sources');
    if (problems.length) throw unprocessable('The record cites evidence this case does not hold', problems);
  }

  private async casualtyRows(tx: EntityManager, where: string, params: unknown[], lock = false): Promise<Json[]> {
    return tx.query(
      `SELECT id, incident_id, case_id, record, names_sealed, created_at, updated_at FROM casualties WHERE ${where}
        ORDER BY created_at, id ${lock ? 'FOR UPDATE' : ''}`,
      params,
    );
  }

  private casualtyView(row: Json, withNames: boolean): CasualtyView {
    const view = incidentChildView<CasualtyRecord>(row) as CasualtyView;
    if (withNames) Object.assign(view, this.openNames(view.id, row['names_sealed'] as Buffer | null));
    return view;
  }

  async getCasualty(actor: Actor, id: string): Promise<CasualtyView> {
    const [row] = await this.casualtyRows(this.db.manager, 'id = $1', [id]);
    if (!row) throw notFound('The casualty record');
    await assertRecordAccess(this.cases, this.db.manager, actor, row['case_id'] as string, 'read', 'The casualty record');
    return this.casualtyView(row, maySeeNames(actor));
  }

  async listCasualties(actor: Actor, incidentId: string): Promise<{ items: CasualtyView[] }> {
    const incident = await this.incidentRow(this.db.manager, incidentId);
    await assertRecordAccess(this.cases, this.db.manager, actor, incident.case_id, 'read', 'The incident');
    const rows = await this.casualtyRows(this.db.manager, 'incident_id = $1', [incidentId]);
    return { items: rows.map((row) => this.casualtyView(row, maySeeNames(actor))) };
  }

  async patchCasualty(actor: Actor, id: string, body: unknown): Promise<CasualtyView> {
    await this.db.transaction(async (tx) => {
      const [row] = await this.casualtyRows(tx, 'id = $1', [id], true);
      if (!row) throw notFound('The casualty record');
      const caseId = row['case_id'] as string;
      await assertRecordAccess(this.cases, tx, actor, caseId, 'write', 'The casualty record');
      const stored = row['record'] as CasualtyRecord;
      const oldSealed = row['names_sealed'] as Buffer | null;
      const oldNames = this.openNames(id, oldSealed);
      const { merged, reason } = applyPatch({ ...(stored as unknown as Json), ...oldNames }, body, 'casualty record');
      const { reader, record, names } = readCasualty(merged);
      await this.assertAcceptable(tx, reader, 'casualty record');
      await this.assertSources(tx, caseId, record.sources);
      const namesChanged = JSON.stringify(names) !== JSON.stringify(oldNames);
      const fields = changedFields(stored as unknown as Json, record as unknown as Json);
      if (fields.length === 0 && !namesChanged) return;
      const sealed = namesChanged ? this.sealNames(id, names) : oldSealed;
      const count = this.casualtyCount(record);
      await tx.query(
        `UPDATE casualties SET record = $2, names_sealed = $3, counting_unit = $4, count_min = $5, count_max = $6, harm_status = $7,
                status = $8, updated_at = clock_timestamp() WHERE id = $1`,
        [id, JSON.stringify(record), sealed, record.countingUnit, count.min, count.max, record.harmStatus, record.status],
      );
      const previousSha256 = recordHash(this.casualtyState(stored, oldSealed));
      const newSha256 = recordHash(this.casualtyState(record, sealed));
      await this.custody.append(tx, {
        action: 'casualty.updated',
        actor,
        caseId,
        subject: { type: 'casualty', id, sha256: newSha256 },
        details: { incidentId: row['incident_id'] as string, previousSha256, newSha256, fields, namesChanged },
        reason,
      });
    });
    return this.getCasualty(actor, id);
  }

  // ---- damage records --------------------------------------------------------------------

  async recordDamage(actor: Actor, incidentId: string, body: unknown): Promise<DamageView> {
    const { rest, reason } = takeReason(asObject(body, 'damage record'));
    const { reader, record } = readDamage(rest);
    const id = await this.db.transaction(async (tx) => {
      const incident = await this.incidentRow(tx, incidentId);
      await assertRecordAccess(this.cases, tx, actor, incident.case_id, 'write', 'The incident');
      await this.assertAcceptable(tx, reader, 'damage record');
      await this.assertSources(tx, incident.case_id, record.sources);
      const [row] = await tx.query(
        `INSERT INTO damage_records (incident_id, case_id, record, lat, lon, damage_level, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [incidentId, incident.case_id, JSON.stringify(record), record.location?.lat ?? null, record.location?.lon ?? null, record.damageLevel, record.status, actor.id],
      );
      const newSha256 = recordHash(record);
      await this.custody.append(tx, {
        action: 'damage.recorded',
        actor,
        caseId: incident.case_id,
        subject: { type: 'damage', id: row.id, sha256: newSha256 },
        details: { incidentId, previousSha256: null, newSha256, fields: changedFields(null, record as unknown as Json) },
        reason,
      });
      return row.id as string;
    });
    return this.getDamage(actor, id);
  }

  private async damageRows(tx: EntityManager, where: string, params: unknown[], lock = false): Promise<Json[]> {
    return tx.query(
      `SELECT id, incident_id, case_id, record, created_at, updated_at FROM damage_records WHERE ${where} ORDER BY created_at, id ${lock ? 'FOR UPDATE' : ''}`,
      params,
    );
  }

  private damageView(row: Json): DamageView {
    return incidentChildView<DamageRecord>(row) as DamageView;
  }

  async getDamage(actor: Actor, id: string): Promise<DamageView> {
    const [row] = await this.damageRows(this.db.manager, 'id = $1', [id]);
    if (!row) throw notFound('The damage record');
    await assertRecordAccess(this.cases, this.db.manager, actor, row['case_id'] as string, 'read', 'The damage record');
    return this.damageView(row);
  }

  async listDamage(actor: Actor, incidentId: string): Promise<{ items: DamageView[] }> {
    const incident = await this.incidentRow(this.db.manager, incidentId);
    await assertRecordAccess(this.cases, this.db.manager, actor, incident.case_id, 'read', 'The incident');
    return { items: (await this.damageRows(this.db.manager, 'incident_id = $1', [incidentId])).map((row) => this.damageView(row)) };
  }

  async patchDamage(actor: Actor, id: string, body: unknown): Promise<DamageView> {
    await this.db.transaction(async (tx) => {
      const [row] = await this.damageRows(tx, 'id = $1', [id], true);
      if (!row) throw notFound('The damage record');
      const caseId = row['case_id'] as string;
      await assertRecordAccess(this.cases, tx, actor, caseId, 'write', 'The damage record');
      const stored = row['record'] as DamageRecord;
      const { merged, reason } = applyPatch(stored as unknown as Json, body, 'damage record');
      const { reader, record } = readDamage(merged);
      await this.assertAcceptable(tx, reader, 'damage record');
      await this.assertSources(tx, caseId, record.sources);
      const fields = changedFields(stored as unknown as Json, record as unknown as Json);
      if (fields.length === 0) return;
      await tx.query(
        `UPDATE damage_records SET record = $2, lat = $3, lon = $4, damage_level = $5, status = $6, updated_at = clock_timestamp() WHERE id = $1`,
        [id, JSON.stringify(record), record.location?.lat ?? null, record.location?.lon ?? null, record.damageLevel, record.status],
      );
      const previousSha256 = recordHash(stored);
      const newSha256 = recordHash(record);
      await this.custody.append(tx, {
        action: 'damage.updated',
        actor,
        caseId,
        subject: { type: 'damage', id, sha256: newSha256 },
        details: { incidentId: row['incident_id'] as string, previousSha256, newSha256, fields },
        reason,
      });
    });
    return this.getDamage(actor, id);
  }

  // ---- exports ---------------------------------------------------------------------------

  /**
   * The records of a court package: the incidents, their casualty records (names only when
   * `withNames`) and damage records. No access check: the export checked access to the case.
   */
  async packageRecords(
    caseId: string,
    incidentIds: readonly string[],
    withNames: boolean,
  ): Promise<{ incidents: IncidentView[]; casualties: CasualtyView[]; damage: DamageView[] }> {
    const rows: IncidentRow[] = await this.db.query(
      `SELECT id, case_id, code, record, created_by, created_at, updated_at, '0' AS start_us
         FROM incidents WHERE case_id = $1 AND id = ANY ($2::uuid[]) ORDER BY start_at, id`,
      [caseId, incidentIds],
    );
    const ids = rows.map((r) => r.id);
    const incidents = await this.incidentViews(this.db.manager, rows);
    const casualties = (await this.casualtyRows(this.db.manager, `incident_id = ANY ($1::uuid[])`, [ids])).map((row) =>
      this.casualtyView(row, withNames),
    );
    const damage = (await this.damageRows(this.db.manager, `incident_id = ANY ($1::uuid[])`, [ids])).map((row) => this.damageView(row));
    return { incidents, casualties, damage };
  }


  /** RFC 7946 FeatureCollection of a case's incidents: one Point ([lon, lat]) each, properties flat for QGIS. */
  async incidentsGeoJson(actor: Actor, caseId: string): Promise<Json> {
    await assertRecordAccess(this.cases, this.db.manager, actor, caseId, 'read');
    const rows: IncidentRow[] = await this.db.query(
      `SELECT id, case_id, code, record, created_by, created_at, updated_at, '0' AS start_us FROM incidents WHERE case_id = $1 ORDER BY start_at, id`,
      [caseId],
    );
    const views = await this.incidentViews(this.db.manager, rows);
    return {
      type: 'FeatureCollection',
      features: views.map((v) => ({
        type: 'Feature',
        id: v.id,
        geometry: v.location ? { type: 'Point', coordinates: [v.location.lon, v.location.lat] } : null,
        properties: {
          id: v.id,
          code: v.code,
          title: v.title,
          type: v.type,
          startAt: v.startAt,
          endAt: v.endAt,
          datePrecision: v.datePrecision,
          geoPrecision: v.geoPrecision,
          placeName: v.placeName,
          admin1: v.admin1,
          admin2: v.admin2,
          admin3: v.admin3,
          weaponTypes: v.weapons.map((w) => w.weaponType).join(';'),
          attributedTo: v.attributions.map((a) => a.actor).join(';'),
          grade: v.grade,
          verificationStatus: v.verificationStatus,
          killedMin: v.killed?.min ?? null,
          killedMax: v.killed?.max ?? null,
          injuredMin: v.injured?.min ?? null,
          injuredMax: v.injured?.max ?? null,
          civilianKilledMin: v.civilianKilled?.min ?? null,
          civilianKilledMax: v.civilianKilled?.max ?? null,
          figuresSource: v.figuresSource,
          evidenceCount: v.evidenceIds.length,
          unsourced: v.unsourced,
        },
      })),
    };
  }

  /**
   * RFC 4180 CSV of a case's casualty records. Names only for investigators of the case who ask
   * for them; that download is recorded in the custody log (the names themselves never are).
   */
  async casualtiesCsv(actor: Actor, caseId: string, includeNames: boolean): Promise<string> {
    await assertRecordAccess(this.cases, this.db.manager, actor, caseId, 'read');
    if (includeNames && !maySeeNames(actor)) throw forbidden('Only investigators of the case may export names');
    const rows: Json[] = await this.db.query(
      `SELECT c.id, c.incident_id, c.case_id, c.record, c.names_sealed, c.created_at, c.updated_at, i.code AS incident_code
         FROM casualties c JOIN incidents i ON i.id = c.incident_id
        WHERE c.case_id = $1 ORDER BY i.start_at, i.id, c.created_at, c.id`,
      [caseId],
    );
    const header = [
      'id', 'incidentId', 'incidentCode', 'countingUnit', 'groupSizeMin', 'groupSizeMax', 'harmStatus', 'sex', 'age', 'ageMin',
      'ageMax', 'ageGroup', 'civilianStatus', 'specialCategories', 'dateOfHarm', 'dateOfDeath', 'causeOfDeath',
      'identificationStatus', 'status', 'sourceCount', 'unsourced', 'consentToPublishName',
      ...(includeNames ? ['fullName', 'nameVariants'] : []),
    ];
    const lines = rows.map((row) => {
      const v = this.casualtyView(row, includeNames);
      return [
        v.id, v.incidentId, row['incident_code'] as string, v.countingUnit, v.groupSize?.min ?? null, v.groupSize?.max ?? null,
        v.harmStatus, v.sex, v.age, v.ageRange?.min ?? null, v.ageRange?.max ?? null, v.ageGroup, v.civilianStatus,
        v.specialCategories.join(';'), v.dateOfHarm, v.dateOfDeath, v.causeOfDeath, v.identificationStatus, v.status,
        v.sources.length, v.unsourced, v.consentToPublishName,
        ...(includeNames ? [v.fullName ?? null, (v.nameVariants ?? []).join(';')] : []),
      ];
    });
    if (includeNames) {
      await this.db.transaction((tx) =>
        this.custody.append(tx, {
          action: 'export.downloaded',
          actor,
          caseId,
          subject: { type: 'case', id: caseId },
          details: { export: 'casualties.csv', includeNames: true, rows: rows.length },
        }),
      );
    }
    return toCsv(header, lines);
  }
}

/** A casualty or damage row as the API shows it: its record, where it belongs, and `unsourced`. */
function incidentChildView<R extends { sources: unknown[] }>(row: Json) {
  const record = row['record'] as unknown as R;
  return {
    id: row['id'] as string,
    incidentId: row['incident_id'] as string,
    caseId: row['case_id'] as string,
    ...record,
    unsourced: record.sources.length === 0,
    createdAt: (row['created_at'] as Date).toISOString(),
    updatedAt: (row['updated_at'] as Date).toISOString(),
  };
}
