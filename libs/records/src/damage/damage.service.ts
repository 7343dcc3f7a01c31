import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { notFound } from '#custodia/errors';
import { parseWith } from '#custodia/schema';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { RecordChanges, type RecordChange } from '../record-change.js';
import { sourceProblems } from '../record-sources.js';
import { codesIn } from '../vocabularies/vocabulary-codes.js';
import { DamageRepository, type StoredDamage } from './damage.repository.js';
import { DamageFields, DamageRecordSchema, type CreateDamageBody, type DamageRecord, type DamageView, type PatchDamageBody } from './damage.schema.js';

/** A damage record's version and the incident it belongs to. */
interface DamageVersion {
  incidentId: string;
  record: DamageRecord;
}

/** Damage records: one object, one assessment (UNOSAT levels). */
@Injectable()
export class DamageService {
  constructor(
    private readonly damage: DamageRepository,
    private readonly incidents: IncidentsRepository,
    private readonly cases: CasesService,
    private readonly changes: RecordChanges,
  ) {}

  async record(actor: Actor, incidentId: string, body: CreateDamageBody): Promise<DamageView> {
    const id = await this.changes.apply(actor, {
      ...this.common(),
      action: 'damage.recorded',
      reason: body.reason,
      open: async (tx) => {
        const incident = await this.incidents.find(incidentId, { tx });
        if (!incident) throw notFound('The incident');
        await this.cases.assertMay(actor, incident.caseId, 'damage.write', tx, 'The incident');
        return { id: randomUUID(), caseId: incident.caseId, current: null };
      },
      next: () => ({ incidentId, record: body.record }),
      write: (tx, next, opened) => this.damage.insert(tx, { id: opened.id, incidentId, caseId: opened.caseId, createdBy: actor.id, record: next.record }),
    });
    return this.get(actor, id);
  }

  async amend(actor: Actor, id: string, body: PatchDamageBody): Promise<DamageView> {
    const { reason, ...fields } = body;
    const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    await this.changes.apply(actor, {
      ...this.common(),
      action: 'damage.updated',
      reason: reason ?? null,
      open: async (tx) => {
        const row = await this.damage.find(id, { tx, lock: true });
        if (!row) throw notFound('The damage record');
        await this.cases.assertMay(actor, row.caseId, 'damage.write', tx, 'The damage record');
        return { id, caseId: row.caseId, current: { incidentId: row.incidentId, record: row.record } };
      },
      next: (_tx, opened) => ({
        incidentId: opened.current!.incidentId,
        record: parseWith(DamageRecordSchema, { ...opened.current!.record, ...changes }, 'The damage record'),
      }),
      write: (tx, next) => this.damage.update(tx, id, next.record),
    });
    return this.get(actor, id);
  }

  private common(): Pick<RecordChange<DamageVersion, DamageVersion>, 'subject' | 'what' | 'codes' | 'check' | 'state' | 'details'> {
    return {
      subject: 'damage',
      what: 'The damage record',
      codes: (next) => codesIn(DamageFields, next.record),
      check: (tx, next, opened) => sourceProblems(tx, opened.caseId, next.record.sources),
      state: (version) => ({ record: version.record as unknown as Record<string, unknown>, hashed: version.record }),
      details: (next) => ({ incidentId: next.incidentId }),
    };
  }

  async get(actor: Actor, id: string): Promise<DamageView> {
    const row = await this.damage.find(id);
    if (!row) throw notFound('The damage record');
    await this.cases.assertMay(actor, row.caseId, 'damage.read', undefined, 'The damage record');
    return damageView(row);
  }

  async list(actor: Actor, incidentId: string): Promise<{ items: DamageView[] }> {
    const incident = await this.incidents.find(incidentId);
    if (!incident) throw notFound('The incident');
    await this.cases.assertMay(actor, incident.caseId, 'damage.read', undefined, 'The incident');
    return { items: (await this.damage.ofIncidents([incidentId])).map(damageView) };
  }
}

/** A damage record as the API shows it. */
export function damageView(row: StoredDamage): DamageView {
  return {
    id: row.id,
    incidentId: row.incidentId,
    caseId: row.caseId,
    ...row.record,
    unsourced: row.record.sources.length === 0,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
