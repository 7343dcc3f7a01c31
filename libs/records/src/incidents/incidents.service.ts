import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { assertMay, may, ownerFilter, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { isUniqueViolation } from '#custodia/db';
import { conflict, badRequest, forbidden, notFound, type FieldProblem } from '#custodia/errors';
import { EvidenceLinks, type EvidenceLink } from '#custodia/evidence';
import { parseWith } from '#custodia/schema';
import { encodeCursor } from '#custodia/search';
import { CasualtiesRepository, type DerivedFigures } from '../casualties/casualties.repository.js';
import { RecordChanges, type Opened, type RecordChange, type RecordState } from '../record-change.js';
import { notSubmittedBy } from '../record-sources.js';
import { Vocabularies } from '../vocabularies/vocabularies.repository.js';
import { codesIn, type VocabularyReference } from '../vocabularies/vocabulary-codes.js';
import {
  IncidentFields,
  IncidentRecordSchema,
  type CreateIncidentBody,
  type IncidentPage,
  type IncidentQuery,
  type IncidentRecord,
  type IncidentView,
  type PatchIncidentBody,
} from './incident.schema.js';
import { IncidentsRepository, type StoredIncident } from './incidents.repository.js';

/** An incident version with its code settled. */
type IncidentVersion = IncidentRecord & { code: string };

/** What the log compares and hashes: the record; older versions' `evidence` links are not compared (they live on the items now). */
function incidentState(version: StoredIncident['record']): RecordState {
  const { evidence: _links, ...record } = version;
  return { record, hashed: version };
}

const codeTaken = (code: string | null | undefined) => (error: unknown) =>
  isUniqueViolation(error, 'incidents_case_code_key') ? conflict(`The case already has an incident with the code ${code ?? 'given'}`) : null;

/** Incidents: reported, amended, read and listed; their evidence links live on the items (EvidenceLinks). */
@Injectable()
export class IncidentsService {
  constructor(
    private readonly db: DataSource,
    private readonly incidents: IncidentsRepository,
    private readonly casualties: CasualtiesRepository,
    private readonly cases: CasesService,
    private readonly links: EvidenceLinks,
    private readonly changes: RecordChanges,
    private readonly vocabularies: Vocabularies,
  ) {}

  async report(actor: Actor, caseId: string, body: CreateIncidentBody): Promise<IncidentView> {
    const id = await this.changes.apply(actor, {
      ...this.common(actor, body.evidence),
      action: 'incident.created',
      reason: body.reason,
      open: async (tx) => {
        await this.cases.assertMay(actor, caseId, 'incident.report', tx);
        // Who may not edit incidents reports them as reported; an investigator verifies them.
        if (body.record.verificationStatus !== 'reported' && !may(actor.role, 'incident.write')) {
          throw forbidden('An incident you report starts as reported; an investigator of the case verifies it');
        }
        return { id: randomUUID(), caseId, current: null };
      },
      next: async (tx) => {
        if (body.record.code) await this.incidents.holdCodes(tx, caseId);
        return { ...body.record, code: body.record.code ?? (await this.incidents.nextCode(tx, caseId)) };
      },
      write: (tx, next, opened) => this.incidents.insert(tx, { id: opened.id, caseId, createdBy: actor.id, record: next }),
      conflict: codeTaken(body.record.code),
    });
    return this.get(actor, id);
  }

  /** Fields present replace (null clears); the whole record is read again, so rules across fields hold. */
  async amend(actor: Actor, id: string, body: PatchIncidentBody): Promise<IncidentView> {
    const { reason, evidence, ...fields } = body;
    const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    await this.changes.apply(actor, {
      ...this.common(actor, evidence ?? null),
      action: 'incident.updated',
      reason: reason ?? null,
      open: async (tx) => {
        const row = await this.incidents.find(id, { tx, lock: true });
        if (!row) throw notFound('The incident');
        await this.cases.assertMay(actor, row.caseId, 'incident.write', tx, 'The incident');
        return { id, caseId: row.caseId, current: { ...row.record, code: row.code } };
      },
      next: async (tx, opened) => {
        // Older versions stored their links in the record; they are the items' now.
        const { evidence: _links, ...stored } = opened.current as StoredIncident['record'];
        const record = parseWith(IncidentRecordSchema, { ...stored, ...changes }, 'The incident');
        const code = record.code ?? opened.current!.code;
        if (code !== opened.current!.code) await this.incidents.holdCodes(tx, opened.caseId);
        return { ...record, code };
      },
      write: (tx, next) => this.incidents.update(tx, id, next),
      conflict: codeTaken(fields.code),
    });
    return this.get(actor, id);
  }

  /** What creating and amending share: codes, links, hashes and the event's details. */
  private common(
    actor: Actor,
    evidence: readonly EvidenceLink[] | null,
  ): Pick<RecordChange<IncidentVersion, IncidentVersion>, 'subject' | 'what' | 'codes' | 'check' | 'state' | 'alongside' | 'details'> {
    return {
      subject: 'incident',
      what: 'The incident',
      codes: (next) => codesIn(IncidentFields, next),
      check: (tx, next, opened) => this.referenceProblems(tx, actor, next, opened, evidence),
      state: incidentState,
      // Links are the items' (one source of truth): their events join the incident's own.
      alongside: async (tx, _next, opened) =>
        evidence === null ? [] : this.links.replaceForIncident(tx, actor, { id: opened.id, caseId: opened.caseId }, evidence),
      details: (next) => ({ code: next.code }),
    };
  }

  /** Related incidents of the same case (not itself), and evidence the caller may link (422). */
  private async referenceProblems(
    tx: EntityManager,
    actor: Actor,
    next: IncidentVersion,
    opened: Opened<IncidentVersion>,
    evidence: readonly EvidenceLink[] | null,
  ): Promise<FieldProblem[]> {
    const related = next.relatedIncidents.map((r) => r.incidentId);
    // Who reads only the incidents they reported (a documenter, who reports and never amends)
    // relates theirs only to those: a relation to any other was a yes/no test of whether an id
    // is an incident of the case.
    const found = await this.incidents.idsAmong(tx, related, { caseId: opened.caseId, createdBy: ownerFilter(actor, 'incident.read') });
    const problems: FieldProblem[] = related.flatMap((relatedId, i) => {
      const field = `relatedIncidents[${i}].incidentId`;
      if (relatedId === opened.id) return [{ field, message: 'an incident is not related to itself' }];
      return found.has(relatedId) ? [] : [{ field, message: 'is not an incident of this case' }];
    });
    const reader = ownerFilter(actor, 'evidence.read');
    if (reader && evidence?.length) {
      const others = await notSubmittedBy(tx, evidence.map((link) => link.evidenceId), reader);
      evidence.forEach((link, i) => {
        if (others.has(link.evidenceId)) problems.push({ field: `evidence[${i}].evidenceId`, message: 'is not an evidence item of this case' });
      });
    }
    return problems;
  }

  /** One incident; a caller who reads only what they reported gets 404 for anyone else's. */
  async get(actor: Actor, id: string): Promise<IncidentView> {
    const row = await this.incidents.find(id);
    if (!row) throw notFound('The incident');
    await this.cases.assertMay(actor, row.caseId, 'incident.read', undefined, 'The incident');
    assertMay(actor, 'incident.read', { ownerId: row.createdBy, what: 'The incident' });
    const [view] = await this.viewsOf([row], actor);
    return view!;
  }

  /** A case's incidents, filtered and paginated by cursor (latest start first). */
  async list(actor: Actor, caseId: string, query: IncidentQuery): Promise<IncidentPage> {
    await this.cases.assertMay(actor, caseId, 'incident.read');
    const codes = [
      { field: 'type', vocabulary: 'incident_type', code: query.type },
      { field: 'grade', vocabulary: 'grade', code: query.grade },
      { field: 'verificationStatus', vocabulary: 'verification_status', code: query.verificationStatus },
    ].filter((ref): ref is VocabularyReference => ref.code !== null);
    const unknown = await this.vocabularies.unknown(codes);
    let weaponTypes: string[] | null = null;
    if (query.weaponType) {
      weaponTypes = await this.vocabularies.withDescendants('weapon_type', query.weaponType);
      if (!weaponTypes) unknown.push({ field: 'weaponType', message: `${query.weaponType} is not a code of the weapon_type vocabulary` });
    }
    if (unknown.length) throw badRequest(unknown.length === 1 ? 'Unknown code' : 'Unknown codes', unknown);
    const rows = await this.incidents.list({ ...query, caseId, weaponTypes, reportedBy: ownerFilter(actor, 'incident.read') }, query.limit);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last.startUs, last.id) : null;
    return { items: await this.viewsOf(page, actor), nextCursor };
  }

  /**
   * Incidents as the API shows them: figures from their casualty records, links from the items.
   * For a `viewer` who reads only their own items (a documenter, on an incident they reported):
   * links to their own items only, the figures as entered, since figures derived from
   * casualty records they may not read would tell them what those records hold, and relations
   * to incidents they reported only (an investigator's relation names one they cannot read).
   */
  async viewsOf(rows: readonly StoredIncident[], viewer?: Actor): Promise<IncidentView[]> {
    const ids = rows.map((row) => row.id);
    const derived = viewer === undefined || may(viewer.role, 'casualty.read');
    const reporter = viewer ? ownerFilter(viewer, 'incident.read') : null;
    const [figures, links, readable] = await Promise.all([
      derived ? this.casualties.figuresOf(ids) : new Map<string, DerivedFigures>(),
      this.links.ofIncidents(this.db, ids, viewer ? ownerFilter(viewer, 'evidence.read') : null),
      reporter === null ? null : this.incidents.idsAmong(this.db, rows.flatMap((row) => row.record.relatedIncidents.map((r) => r.incidentId)), { caseId: null, createdBy: reporter }),
    ]);
    return rows.map((row) => {
      const view = incidentView(row, figures.get(row.id), links.get(row.id) ?? []);
      return readable === null ? view : { ...view, relatedIncidents: view.relatedIncidents.filter((r) => readable.has(r.incidentId)) };
    });
  }
}

function incidentView(row: StoredIncident, figures: DerivedFigures | undefined, links: EvidenceLink[]): IncidentView {
  const r = row.record;
  return {
    id: row.id,
    caseId: row.caseId,
    code: row.code,
    title: r.title,
    description: r.description,
    type: r.type,
    startAt: r.startAt,
    endAt: r.endAt,
    datePrecision: r.datePrecision,
    location: r.location,
    geoPrecision: r.geoPrecision,
    placeName: r.placeName,
    admin1: r.admin1,
    admin2: r.admin2,
    admin3: r.admin3,
    weapons: r.weapons,
    attributions: r.attributions,
    grade: r.grade,
    verificationStatus: r.verificationStatus,
    killed: figures ? figures.killed : r.killed,
    injured: figures ? figures.injured : r.injured,
    civilianKilled: figures ? figures.civilianKilled : r.civilianKilled,
    breakdown: figures ? figures.breakdown : r.breakdown,
    relatedIncidents: r.relatedIncidents,
    evidence: links,
    evidenceIds: [...new Set(links.map((link) => link.evidenceId))],
    figuresSource: figures ? 'casualty_records' : 'entered',
    entered: { killed: r.killed, injured: r.injured, civilianKilled: r.civilianKilled, breakdown: r.breakdown },
    unsourced: links.length === 0,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
