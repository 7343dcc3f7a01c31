import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { assertMay, may, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { MASTER_KEY } from '#custodia/custody';
import { notFound } from '#custodia/errors';
import { seal, unseal } from '#custodia/keyring';
import { parseWith } from '#custodia/schema';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { RecordChanges, type Opened, type RecordChange } from '../record-change.js';
import { sourceProblems } from '../record-sources.js';
import { codesIn } from '../vocabularies/vocabulary-codes.js';
import { CasualtiesRepository, type StoredCasualty } from './casualties.repository.js';
import {
  CasualtyFields,
  CasualtyVersionSchema,
  type CasualtyNames,
  type CasualtyRecord,
  type CasualtyView,
  type CreateCasualtyBody,
  type PatchCasualtyBody,
} from './casualty.schema.js';

/** A casualty record's version: the record, its names and their sealed bytes. */
interface CasualtyVersion {
  incidentId: string;
  record: CasualtyRecord;
  names: CasualtyNames;
  sealed: Buffer | null;
}

const NO_NAMES: CasualtyNames = { fullName: null, nameVariants: [] };
const sameNames = (a: CasualtyNames, b: CasualtyNames): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Casualty records: one person, or a group when people are not identified. Names are sealed at rest. */
@Injectable()
export class CasualtiesService {
  constructor(
    private readonly casualties: CasualtiesRepository,
    private readonly incidents: IncidentsRepository,
    private readonly cases: CasesService,
    private readonly changes: RecordChanges,
    /** The master key seals casualty names (AES-256-GCM, bound to the record id). */
    @Inject(MASTER_KEY) private readonly key: Buffer,
  ) {}

  async record(actor: Actor, incidentId: string, body: CreateCasualtyBody): Promise<CasualtyView> {
    const id = await this.changes.apply(actor, {
      ...this.common(),
      action: 'casualty.recorded',
      reason: body.reason,
      open: async (tx) => {
        const incident = await this.incidents.find(incidentId, { tx });
        if (!incident) throw notFound('The incident');
        await this.cases.assertMay(actor, incident.caseId, 'casualty.write', tx, 'The incident');
        if (body.names.fullName !== null || body.names.nameVariants.length > 0) assertMay(actor, 'casualty.names');
        return { id: randomUUID(), caseId: incident.caseId, current: null };
      },
      next: (_tx, opened) => ({ incidentId, record: body.record, names: body.names, sealed: this.sealNames(opened.id, body.names) }),
      write: (tx, next, opened) =>
        this.casualties.insert(tx, { id: opened.id, incidentId, caseId: opened.caseId, createdBy: actor.id, record: next.record, namesSealed: next.sealed }),
      details: (next) => ({ incidentId, namesRecorded: next.sealed !== null }),
    });
    return this.get(actor, id);
  }

  async amend(actor: Actor, id: string, body: PatchCasualtyBody): Promise<CasualtyView> {
    const { reason, ...fields } = body;
    const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    await this.changes.apply(actor, {
      ...this.common(),
      action: 'casualty.updated',
      reason: reason ?? null,
      open: async (tx) => {
        const row = await this.casualties.find(id, { tx, lock: true });
        if (!row) throw notFound('The casualty record');
        await this.cases.assertMay(actor, row.caseId, 'casualty.write', tx, 'The casualty record');
        // Who may not read names may not write them either: a write of the name already there
        // changed nothing and recorded nothing, so it confirmed a guess; another replaced a name
        // its writer never saw.
        if ('fullName' in changes || 'nameVariants' in changes) assertMay(actor, 'casualty.names');
        const current = { incidentId: row.incidentId, record: row.record, sealed: row.namesSealed, names: this.openNames(id, row.namesSealed) };
        return { id, caseId: row.caseId, current };
      },
      next: (_tx, opened) => {
        const current = opened.current!;
        const { record, names } = parseWith(CasualtyVersionSchema, { ...current.record, ...current.names, ...changes }, 'The casualty record');
        // Unchanged names keep their sealed bytes, so the state's hash changes only when they do.
        const sealed = sameNames(names, current.names) ? current.sealed : this.sealNames(id, names);
        return { incidentId: current.incidentId, record, names, sealed };
      },
      changedBeside: (next, opened) => !sameNames(next.names, opened.current!.names),
      write: (tx, next) => this.casualties.update(tx, id, next.record, next.sealed),
      details: (next, opened) => ({ incidentId: next.incidentId, namesChanged: !sameNames(next.names, opened.current!.names) }),
    });
    return this.get(actor, id);
  }

  private common(): Pick<RecordChange<CasualtyVersion, CasualtyVersion>, 'subject' | 'what' | 'codes' | 'check' | 'state'> {
    return {
      subject: 'casualty',
      what: 'The casualty record',
      codes: (next) => codesIn(CasualtyFields, next.record),
      check: (tx, next, opened: Opened<CasualtyVersion>) => sourceProblems(tx, opened.caseId, next.record.sources),
      // The log holds the record and, of the names, only a hash of their ciphertext.
      state: (version) => ({
        record: version.record as unknown as Record<string, unknown>,
        hashed: { ...version.record, sealedNamesSha256: version.sealed ? createHash('sha256').update(version.sealed).digest('hex') : null },
      }),
    };
  }

  async get(actor: Actor, id: string): Promise<CasualtyView> {
    const row = await this.casualties.find(id);
    if (!row) throw notFound('The casualty record');
    await this.cases.assertMay(actor, row.caseId, 'casualty.read', undefined, 'The casualty record');
    return this.viewOf(row, may(actor.role, 'casualty.names'));
  }

  async list(actor: Actor, incidentId: string): Promise<{ items: CasualtyView[] }> {
    const incident = await this.incidents.find(incidentId);
    if (!incident) throw notFound('The incident');
    await this.cases.assertMay(actor, incident.caseId, 'casualty.read', undefined, 'The incident');
    const withNames = may(actor.role, 'casualty.names');
    return { items: (await this.casualties.ofIncidents([incidentId])).map((row) => this.viewOf(row, withNames)) };
  }

  /** A casualty record as the API shows it; names only when `withNames` (the caller checked the policy). */
  viewOf(row: StoredCasualty, withNames: boolean): CasualtyView {
    return {
      id: row.id,
      incidentId: row.incidentId,
      caseId: row.caseId,
      ...row.record,
      dateOfHarmPrecision: row.record.dateOfHarmPrecision ?? null,
      dateOfDeathPrecision: row.record.dateOfDeathPrecision ?? null,
      unsourced: row.record.sources.length === 0,
      ...(withNames ? this.openNames(row.id, row.namesSealed) : {}),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  private sealNames(id: string, names: CasualtyNames): Buffer | null {
    if (names.fullName === null && names.nameVariants.length === 0) return null;
    return seal(this.key, Buffer.from(JSON.stringify(names), 'utf8'), `casualty-names:${id}`);
  }

  private openNames(id: string, sealed: Buffer | null): CasualtyNames {
    if (!sealed) return NO_NAMES;
    return JSON.parse(unseal(this.key, sealed, `casualty-names:${id}`).toString('utf8'));
  }
}
