import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { assertMay, may, ownerFilter, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { CustodyLog } from '#custodia/custody';
import { badRequest, forbidden, notFound, unprocessable, type FieldProblem } from '#custodia/errors';
import { parseWith } from '#custodia/schema';
import { encodeCursor } from '#custodia/search';
import { IncidentsRepository } from '../incidents/incidents.repository.js';
import { RecordChanges, recordHash, type RecordChange } from '../record-change.js';
import { notSubmittedBy, sourceProblems } from '../record-sources.js';
import { Vocabularies } from '../vocabularies/vocabularies.repository.js';
import { codesIn } from '../vocabularies/vocabulary-codes.js';
import { ESTIMATE_METHOD, germanTankEstimate, monthlyEstimates } from './production-estimate.js';
import {
  RemnantFields,
  RemnantRecordSchema,
  type CreateRemnantBody,
  type FullRemnantView,
  type PatchRemnantBody,
  type PhysicalCustodyView,
  type RemnantCustody,
  type RemnantPage,
  type RemnantQuery,
  type RemnantRecord,
  type RemnantView,
  type SerialAnalysis,
  type SerialsQuery,
  type TransferRemnantBody,
} from './remnant.schema.js';
import { RemnantsRepository, type StoredRemnant, type StoredTransfer } from './remnants.repository.js';
import { SERIAL_SCHEMES, serialScheme } from './serial-schemes.js';

/** A remnant's version and the incident it belongs to. */
interface RemnantVersion {
  incidentId: string;
  record: RemnantRecord;
}

/**
 * Munition remnants (issue 14): one physical fragment or component recovered after a strike,
 * its markings, serial, origin and attribution, and the chain of custody of the object itself.
 */
@Injectable()
export class RemnantsService {
  constructor(
    private readonly db: DataSource,
    private readonly remnants: RemnantsRepository,
    private readonly incidents: IncidentsRepository,
    private readonly cases: CasesService,
    private readonly changes: RecordChanges,
    private readonly custody: CustodyLog,
    private readonly vocabularies: Vocabularies,
  ) {}

  /** Records a remnant found at an incident; who may not amend remnants reports it as `reported`. */
  async record(actor: Actor, incidentId: string, body: CreateRemnantBody): Promise<RemnantView> {
    const id = await this.changes.apply(actor, {
      ...this.common(actor),
      action: 'remnant.recorded',
      reason: body.reason,
      open: async (tx) => {
        const incident = await this.incidents.find(incidentId, { tx });
        if (!incident) throw notFound('The incident');
        await this.cases.assertMay(actor, incident.caseId, 'remnant.report', tx, 'The incident');
        // A documenter reports on an incident they may read (one they reported).
        assertMay(actor, 'incident.read', { ownerId: incident.createdBy, what: 'The incident' });
        if (body.record.status !== 'reported' && !may(actor.role, 'remnant.write')) {
          throw forbidden('A remnant you report starts as reported; an investigator of the case examines it');
        }
        return { id: randomUUID(), caseId: incident.caseId, current: null };
      },
      next: () => ({ incidentId, record: body.record }),
      write: (tx, next, opened) => this.remnants.insert(tx, { id: opened.id, incidentId, caseId: opened.caseId, createdBy: actor.id, record: next.record }),
    });
    return this.get(actor, id);
  }

  /** Fields present replace (null clears); the serial is parsed again. */
  async amend(actor: Actor, id: string, body: PatchRemnantBody): Promise<RemnantView> {
    const { reason, ...fields } = body;
    const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    await this.changes.apply(actor, {
      ...this.common(actor),
      action: 'remnant.updated',
      reason: reason ?? null,
      open: async (tx) => {
        const row = await this.remnants.find(id, { tx, lock: true });
        if (!row) throw notFound('The remnant');
        await this.cases.assertMay(actor, row.caseId, 'remnant.write', tx, 'The remnant');
        return { id, caseId: row.caseId, current: { incidentId: row.incidentId, record: row.record } };
      },
      next: (_tx, opened) => ({
        incidentId: opened.current!.incidentId,
        record: parseWith(RemnantRecordSchema, { ...opened.current!.record, ...changes }, 'The remnant'),
      }),
      write: (tx, next) => this.remnants.update(tx, id, next.record),
    });
    return this.get(actor, id);
  }

  private common(actor: Actor): Pick<RecordChange<RemnantVersion, RemnantVersion>, 'subject' | 'what' | 'codes' | 'check' | 'state' | 'details'> {
    return {
      subject: 'remnant',
      what: 'The remnant',
      codes: (next) => codesIn(RemnantFields, next.record),
      check: async (tx, next, opened) => {
        const problems = await sourceProblems(tx, opened.caseId, next.record.sources);
        // Who reads only their own evidence cites only that, and learns nothing of others'.
        const reader = ownerFilter(actor, 'evidence.read');
        if (reader && next.record.sources.length) {
          const others = await notSubmittedBy(tx, next.record.sources.map((s) => s.evidenceId), reader);
          next.record.sources.forEach((s, i) => {
            const field = `sources[${i}].evidenceId`;
            if (others.has(s.evidenceId) && !problems.some((p) => p.field === field)) problems.push({ field, message: 'is not an evidence item of this case' });
          });
        }
        return problems;
      },
      state: (version) => ({ record: version.record as unknown as Record<string, unknown>, hashed: version.record }),
      details: (next) => ({ incidentId: next.incidentId, serialScheme: next.record.serialParts?.scheme ?? null }),
    };
  }

  /**
   * Records a hand-over of the object (`remnant.transferred`), in one transaction with its
   * custody event. Hand-overs are recorded in the order they happened: one dated before the
   * last recorded is refused (422), so the chain never silently reorders.
   */
  async transfer(actor: Actor, id: string, body: TransferRemnantBody): Promise<RemnantCustody> {
    await this.db.transaction(async (tx) => {
      const row = await this.remnants.find(id, { tx, lock: true });
      if (!row) throw notFound('The remnant');
      await this.cases.assertMay(actor, row.caseId, 'remnant.write', tx, 'The remnant');
      const chain = (await this.remnants.transfersOf([id], tx)).get(id) ?? [];
      const last = chain[chain.length - 1];
      const fromAt = new Date(body.from);
      const problems: FieldProblem[] = [];
      if (last && fromAt < last.fromAt) problems.push({ field: 'from', message: `is before the last recorded hand-over (${last.fromAt.toISOString()})` });
      if (row.record.recoveredAt && fromAt < new Date(row.record.recoveredAt)) problems.push({ field: 'from', message: 'is before the remnant was recovered' });
      if (problems.length) throw unprocessable('The hand-over is well-formed but not acceptable', problems);
      const transfer: StoredTransfer = {
        id: randomUUID(),
        remnantId: id,
        holder: body.holder.normalize('NFC'),
        place: body.place.normalize('NFC'),
        fromAt,
        note: body.note ?? null,
        recordedBy: actor.id,
        recordedAt: new Date(),
      };
      await this.remnants.insertTransfer(tx, { ...transfer, caseId: row.caseId });
      await this.custody.appendAll(tx, [
        {
          action: 'remnant.transferred',
          actor,
          caseId: row.caseId,
          subject: { type: 'remnant', id, sha256: recordHash(row.record) },
          // The holder is named in the hand-over's row, not in the event: events travel into
          // partner copies, which name no one. The row's hash binds the name all the same.
          details: {
            incidentId: row.incidentId,
            transferId: transfer.id,
            place: transfer.place,
            from: transfer.fromAt.toISOString(),
            transferSha256: recordHash(transferDocument(transfer)),
          },
          reason: body.reason ?? null,
        },
      ]);
    });
    return this.custodyOf(actor, id);
  }

  /** Where the object has been kept and its custody events: for auditors too, never the record. */
  async custodyOf(actor: Actor, id: string): Promise<RemnantCustody> {
    const row = await this.remnants.find(id);
    if (!row) throw notFound('The remnant');
    await this.cases.assertMay(actor, row.caseId, 'remnant.custody', undefined, 'The remnant');
    const chain = (await this.remnants.transfersOf([id])).get(id) ?? [];
    const events = await this.custody.eventsAbout('remnant', id);
    return {
      remnantId: id,
      caseId: row.caseId,
      physicalCustody: physicalCustody(chain),
      events: events.map(({ leafIndex, leafHash, event }) => ({
        leafIndex,
        leafHash,
        action: event.action,
        at: event.at,
        transferId: typeof event.details['transferId'] === 'string' ? event.details['transferId'] : null,
      })),
    };
  }

  /** One remnant; a caller who reads only what they reported gets 404 for anyone else's. */
  async get(actor: Actor, id: string): Promise<RemnantView> {
    const row = await this.remnants.find(id);
    if (!row) throw notFound('The remnant');
    await this.cases.assertMay(actor, row.caseId, 'remnant.read', undefined, 'The remnant');
    assertMay(actor, 'remnant.read', { ownerId: row.createdBy, what: 'The remnant' });
    const [view] = await this.viewsOf([row], actor);
    return view!;
  }

  /** An incident's remnants (a documenter's: those they reported, on an incident they may read). */
  async list(actor: Actor, incidentId: string): Promise<{ items: RemnantView[] }> {
    const incident = await this.incidents.find(incidentId);
    if (!incident) throw notFound('The incident');
    await this.cases.assertMay(actor, incident.caseId, 'remnant.read', undefined, 'The incident');
    assertMay(actor, 'incident.read', { ownerId: incident.createdBy, what: 'The incident' });
    return { items: await this.viewsOf(await this.remnants.ofIncidents([incidentId], ownerFilter(actor, 'remnant.read')), actor) };
  }

  /** A case's remnants by weapon type, component, serial prefix and marking text, latest first (by serial with a serial prefix). */
  async search(actor: Actor, caseId: string, query: RemnantQuery): Promise<RemnantPage> {
    await this.cases.assertMay(actor, caseId, 'remnant.read');
    const rows = await this.remnants.list(
      {
        caseId,
        reportedBy: ownerFilter(actor, 'remnant.read'),
        incidentId: query.incidentId,
        weaponTypes: await this.withDescendants('weapon_type', 'weaponType', query.weaponType),
        components: await this.withDescendants('munition_component', 'component', query.component),
        serialPrefix: query.serialPrefix,
        q: query.q,
        cursor: query.cursor,
      },
      query.limit,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > query.limit && last) {
      nextCursor = query.serialPrefix ? Buffer.from(JSON.stringify(['serial', last.serialSkeleton, last.id])).toString('base64url') : encodeCursor(last.createdUs, last.id);
    }
    return { items: await this.viewsOf(page, actor), nextCursor };
  }

  private async withDescendants(vocabulary: string, field: string, code: string | null): Promise<string[] | null> {
    if (code === null) return null;
    const codes = await this.vocabularies.withDescendants(vocabulary, code);
    if (!codes) throw badRequest(`Unknown ${field}`, [{ field, message: `is not a code of the ${vocabulary} vocabulary` }]);
    return codes;
  }

  /**
   * Per serial scheme and series: the serial numbers seen over time, and the production
   * estimate over them, as a whole and per month, with the method written beside the figures.
   */
  async serials(actor: Actor, caseId: string, query: SerialsQuery): Promise<SerialAnalysis> {
    await this.cases.assertMay(actor, caseId, 'remnant.read');
    const weaponTypes = await this.withDescendants('weapon_type', 'weaponType', query.weaponType);
    if (query.scheme !== null && !serialScheme(query.scheme)) {
      throw badRequest('Unknown serial scheme', [{ field: 'scheme', message: `must be one of ${SERIAL_SCHEMES.map((s) => s.id).join(', ')}` }]);
    }
    // A scheme belongs to one weapon type: asking for a type asks for its schemes.
    const schemes = SERIAL_SCHEMES.filter((s) => (query.scheme === null || s.id === query.scheme) && (weaponTypes === null || weaponTypes.includes(s.weaponType))).map((s) => s.id);
    const sightings = await this.remnants.serialSightings(caseId, { schemes, reportedBy: ownerFilter(actor, 'remnant.read') });
    const groups = new Map<string, typeof sightings>();
    for (const s of sightings) {
      const key = `${s.scheme}\u0000${s.series}`;
      const group = groups.get(key);
      if (group) group.push(s);
      else groups.set(key, [s]);
    }
    const series = [...groups.values()].map((seen) => {
      const scheme = serialScheme(seen[0]!.scheme)!;
      return {
        weaponType: scheme.weaponType,
        scheme: scheme.id,
        schemeLabel: scheme.label,
        schemeBasis: scheme.basis,
        prefix: scheme.prefix,
        series: seen[0]!.series,
        serials: seen.map((s) => ({ number: s.number, serialNumber: s.serialNumber, remnantId: s.remnantId, incidentId: s.incidentId, seenAt: s.seenAt.toISOString() })),
        estimate: germanTankEstimate(seen.map((s) => s.number), query.confidence)!,
        months: monthlyEstimates(seen.map((s) => ({ number: s.number, month: s.seenAt.toISOString().slice(0, 7) })), query.confidence),
      };
    });
    return { method: ESTIMATE_METHOD, confidence: query.confidence, series };
  }

  /**
   * Remnants as the API shows them, with where each object has been kept. For a `viewer` who may
   * not read that chain (a documenter: who holds the object, where, is for investigators and
   * auditors; GET /remnants/:id/transfers refuses them too) `physicalCustody` is null, and one
   * who reads only their own items sees only those among the sources, as on incidents.
   */
  async viewsOf(rows: readonly StoredRemnant[]): Promise<FullRemnantView[]>;
  async viewsOf(rows: readonly StoredRemnant[], viewer: Actor): Promise<RemnantView[]>;
  async viewsOf(rows: readonly StoredRemnant[], viewer?: Actor): Promise<RemnantView[]> {
    const chainShown = viewer === undefined || may(viewer.role, 'remnant.custody');
    const reader = viewer ? ownerFilter(viewer, 'evidence.read') : null;
    const [transfers, othersItems] = await Promise.all([
      chainShown ? this.remnants.transfersOf(rows.map((row) => row.id)) : null,
      reader === null ? new Set<string>() : notSubmittedBy(this.db.manager, rows.flatMap((row) => row.record.sources.map((s) => s.evidenceId)), reader),
    ]);
    return rows.map((row) => {
      const view = remnantView(row, transfers ? (transfers.get(row.id) ?? []) : null);
      return othersItems.size === 0 ? view : { ...view, sources: view.sources.filter((s) => !othersItems.has(s.evidenceId)) };
    });
  }
}

/** What a transfer's hash in its custody event is computed over. */
/**
 * The hand-over as `transferSha256` hashes it (RFC 8785, SHA-256): a `physicalCustody` period's
 * `transferId`, `holder`, `place`, `from`, `note` and `recordedBy`, with the remnant's id.
 */
function transferDocument(t: StoredTransfer): Record<string, string | null> {
  return { id: t.id, remnantId: t.remnantId, holder: t.holder, place: t.place, from: t.fromAt.toISOString(), note: t.note, recordedBy: t.recordedBy };
}

/** The hand-overs as periods: each holder kept it until the next one took it. */
export function physicalCustody(chain: readonly StoredTransfer[]): PhysicalCustodyView[] {
  return chain.map((t, i) => ({
    transferId: t.id,
    holder: t.holder,
    place: t.place,
    from: t.fromAt.toISOString(),
    to: chain[i + 1]?.fromAt.toISOString() ?? null,
    note: t.note,
    recordedBy: t.recordedBy,
    recordedAt: t.recordedAt.toISOString(),
  }));
}

function remnantView(row: StoredRemnant, chain: readonly StoredTransfer[] | null): RemnantView {
  return {
    id: row.id,
    incidentId: row.incidentId,
    caseId: row.caseId,
    ...row.record,
    unsourced: row.record.sources.length === 0,
    physicalCustody: chain && physicalCustody(chain),
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
