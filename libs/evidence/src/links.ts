import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '#custodia/auth';
import type { CustodyEventInput } from '#custodia/custody';
import { unprocessable, type FieldProblem } from '#custodia/errors';
import { z } from '#custodia/schema';

/** What a linked item shows of its incident (data-model.md, Incident). */
export const EVIDENCE_LINK_ROLES = ['depicts_aftermath', 'depicts_munition', 'depicts_casualty', 'witness_account', 'official_record', 'other'] as const;
export type EvidenceLinkRole = (typeof EVIDENCE_LINK_ROLES)[number];

export const EvidenceLink = z
  .strictObject({
    evidenceId: z.uuid({ message: 'must be a UUID' }),
    role: z.enum(EVIDENCE_LINK_ROLES).default('other'),
  })
  .meta({ id: 'EvidenceLink' });
export type EvidenceLink = z.output<typeof EvidenceLink>;

/** An item as a link change needs it (locked by the caller or here). */
interface LinkedItem {
  id: string;
  sha256: string;
  incidentId: string | null;
  role: EvidenceLinkRole | null;
}

/**
 * Links between evidence items and incidents, with one source of truth:
 * `evidence_items.incident_id` and its role (a database foreign key on (incident, case) keeps
 * both in one case). A link made from either side (the item's `incidentId`, the incident's
 * `evidence` list) shows on both and is one `evidence.linked` / `evidence.unlinked` event about
 * the item. The methods change rows inside the caller's transaction and return the events; the
 * caller appends them with its own, last before COMMIT.
 */
@Injectable()
export class EvidenceLinks {
  /**
   * Links one item to `incidentId` (null: unlinks it), from the evidence side. An incident that
   * is not of the item's case is 422 on `field`. No change, no event.
   */
  async setForItem(
    tx: EntityManager,
    actor: Actor,
    item: { id: string; caseId: string; sha256: string; incidentId: string | null; role?: EvidenceLinkRole | null },
    incidentId: string | null,
    role: EvidenceLinkRole = 'other',
    field = 'incidentId',
  ): Promise<CustodyEventInput[]> {
    if (incidentId !== null) await this.assertIncidentsOfCase(tx, item.caseId, [incidentId], () => field);
    if (item.incidentId === incidentId && (incidentId === null || (item.role ?? 'other') === role)) return [];
    await tx.query(`UPDATE evidence_items SET incident_id = $2, incident_link_role = $3, incident_linked_by = $4 WHERE id = $1`, [
      item.id,
      incidentId,
      incidentId ? role : null,
      incidentId ? actor.id : null,
    ]);
    return linkEvents(actor, item.caseId, { id: item.id, sha256: item.sha256, incidentId: item.incidentId, role: item.role ?? null }, incidentId, role, 'evidence');
  }

  /**
   * Makes the incident's links exactly `links`, from the incident side: items named move to
   * this incident (from another one if need be), items no longer named are unlinked. An item
   * that is not of the incident's case is 422 on `evidence[i].evidenceId`.
   */
  async replaceForIncident(
    tx: EntityManager,
    actor: Actor,
    incident: { id: string; caseId: string },
    links: readonly EvidenceLink[],
    field = 'evidence',
  ): Promise<CustodyEventInput[]> {
    const wanted = new Map<string, EvidenceLinkRole>();
    for (const link of links) wanted.set(link.evidenceId, link.role);
    const rows: { id: string; sha256: string; incident_id: string | null; incident_link_role: EvidenceLinkRole | null; case_id: string }[] = await tx.query(
      `SELECT id, sha256, incident_id, incident_link_role, case_id FROM evidence_items
        WHERE (id = ANY ($1::uuid[]) AND case_id = $3) OR incident_id = $2
        ORDER BY id FOR NO KEY UPDATE`,
      [[...wanted.keys()], incident.id, incident.caseId],
    );
    const found = new Map(rows.map((row) => [row.id, row]));
    const problems: FieldProblem[] = links.flatMap((link, i) =>
      found.has(link.evidenceId) ? [] : [{ field: `${field}[${i}].evidenceId`, message: 'is not an evidence item of this case' }],
    );
    if (problems.length) throw unprocessable('The incident names evidence this case does not hold', problems);
    const events: CustodyEventInput[] = [];
    for (const row of rows) {
      const item: LinkedItem = { id: row.id, sha256: row.sha256, incidentId: row.incident_id, role: row.incident_link_role };
      const role = wanted.get(row.id);
      const target = role === undefined ? null : incident.id;
      if (item.incidentId === target && (target === null || item.role === role)) continue;
      await tx.query(`UPDATE evidence_items SET incident_id = $2, incident_link_role = $3, incident_linked_by = $4 WHERE id = $1`, [
        row.id,
        target,
        target ? role : null,
        target ? actor.id : null,
      ]);
      events.push(...linkEvents(actor, incident.caseId, item, target, role ?? 'other', 'incident'));
    }
    return events;
  }

  /** The links of each incident, in the order items were received; with `submittedBy`, only to that user's items. */
  async ofIncidents(db: DataSource | EntityManager, incidentIds: readonly string[], submittedBy: string | null = null): Promise<Map<string, EvidenceLink[]>> {
    const links = new Map<string, EvidenceLink[]>(incidentIds.map((id) => [id, []]));
    if (incidentIds.length === 0) return links;
    const rows: { id: string; incident_id: string; incident_link_role: EvidenceLinkRole }[] = await db.query(
      `SELECT id, incident_id, incident_link_role FROM evidence_items
        WHERE incident_id = ANY ($1::uuid[]) AND ($2::uuid IS NULL OR submitted_by = $2) ORDER BY received_at, id`,
      [incidentIds, submittedBy],
    );
    for (const row of rows) links.get(row.incident_id)?.push({ evidenceId: row.id, role: row.incident_link_role });
    return links;
  }

  /** 422 on `fieldOf(i)` for each id that is not an incident of the case. */
  async assertIncidentsOfCase(tx: EntityManager, caseId: string, incidentIds: readonly string[], fieldOf: (i: number) => string): Promise<void> {
    const rows: { id: string }[] = await tx.query(`SELECT id FROM incidents WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, incidentIds]);
    const found = new Set(rows.map((row) => row.id));
    const problems = incidentIds.flatMap((id, i) => (found.has(id) ? [] : [{ field: fieldOf(i), message: 'is not an incident of this case' }]));
    if (problems.length) throw unprocessable('The link names an incident this case does not hold', problems);
  }
}

/** The events of one item's link changing from its current incident to `target`. */
function linkEvents(
  actor: Actor,
  caseId: string,
  item: LinkedItem,
  target: string | null,
  role: EvidenceLinkRole,
  from: 'evidence' | 'incident',
): CustodyEventInput[] {
  const subject = { type: 'evidence', id: item.id, sha256: item.sha256 };
  const events: CustodyEventInput[] = [];
  if (item.incidentId !== null && item.incidentId !== target) {
    events.push({ action: 'evidence.unlinked', actor, caseId, subject, details: { incidentId: item.incidentId, from } });
  }
  if (target !== null) events.push({ action: 'evidence.linked', actor, caseId, subject, details: { incidentId: target, role, from } });
  return events;
}
