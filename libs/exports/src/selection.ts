import type { EntityManager } from 'typeorm';
import { unprocessable, type FieldProblem } from '#custodia/errors';

/** What an export asks for; empty = the whole case. Each criterion adds items (a union). */
export interface ExportSelection {
  evidenceIds?: string[];
  incidentIds?: string[];
  /**
   * RFC 3339; evidence captured (else received) and incidents starting in [from, to]. Evidence
   * is chosen as the case listing's `from`/`to` choose it: the item's searched time (its file's
   * instant, else the 26-hour window of a zone-less camera time, else the declared instant, else
   * the receipt time) overlaps the range.
   */
  from?: string;
  to?: string;
}

/** The items a selection names at one moment: evidence in receipt order, incidents by start. */
export interface ResolvedSelection {
  evidenceIds: string[];
  incidentIds: string[];
}

export const isWholeCase = (s: ExportSelection): boolean =>
  !s.evidenceIds?.length && !s.incidentIds?.length && s.from === undefined && s.to === undefined;

/** Unknown ids are refused by name: a package must hold exactly what was asked for. */
export async function assertSelectionExists(tx: EntityManager, caseId: string, selection: ExportSelection): Promise<void> {
  const problems: FieldProblem[] = [];
  for (const [field, table] of [
    ['evidenceIds', 'evidence_items'],
    ['incidentIds', 'incidents'],
  ] as const) {
    const ids = selection[field] ?? [];
    if (!ids.length) continue;
    const rows: { id: string }[] = await tx.query(`SELECT id FROM ${table} WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, ids]);
    const found = new Set(rows.map((r) => r.id));
    ids.forEach((id, i) => {
      if (!found.has(id)) problems.push({ field: `${field}[${i}]`, message: `${id} is not in this case` });
    });
  }
  if (selection.from !== undefined && selection.to !== undefined && Date.parse(selection.from) > Date.parse(selection.to)) {
    problems.push({ field: 'to', message: 'must not be before from' });
  }
  if (problems.length) throw unprocessable('The selection names what this case does not hold', problems.slice(0, 50));
}

/**
 * The evidence and incidents a selection names now. Selected incidents bring the evidence they
 * cite (their links, items linked to them, and the sources of their casualty, damage and remnant records).
 */
export async function resolveSelection(tx: EntityManager, caseId: string, selection: ExportSelection): Promise<ResolvedSelection> {
  const whole = isWholeCase(selection);
  const from = selection.from ?? null;
  const to = selection.to ?? null;
  const timed = from !== null || to !== null;
  const incidentRows: { id: string }[] = await tx.query(
    `SELECT id FROM incidents
      WHERE case_id = $1
        AND ($2 OR id = ANY ($3::uuid[])
             OR ($4 AND ($5::timestamptz IS NULL OR start_at >= $5) AND ($6::timestamptz IS NULL OR start_at <= $6)))
      ORDER BY start_at, id`,
    [caseId, whole, selection.incidentIds ?? [], timed, from, to],
  );
  const incidentIds = incidentRows.map((r) => r.id);
  const evidenceRows: { id: string }[] = await tx.query(
    `WITH cited AS (
       SELECT (link ->> 'evidenceId')::uuid AS id FROM incidents i, jsonb_array_elements(i.record -> 'evidence') link
        WHERE i.case_id = $1 AND i.id = ANY ($4::uuid[])
       UNION SELECT (s ->> 'evidenceId')::uuid FROM casualties c, jsonb_array_elements(c.record -> 'sources') s
        WHERE c.case_id = $1 AND c.incident_id = ANY ($4::uuid[])
       UNION SELECT (s ->> 'evidenceId')::uuid FROM damage_records d, jsonb_array_elements(d.record -> 'sources') s
        WHERE d.case_id = $1 AND d.incident_id = ANY ($4::uuid[])
       UNION SELECT (s ->> 'evidenceId')::uuid FROM remnants r, jsonb_array_elements(r.record -> 'sources') s
        WHERE r.case_id = $1 AND r.incident_id = ANY ($4::uuid[]))
     SELECT e.id FROM evidence_items e
      WHERE e.case_id = $1
        AND ($2 OR e.id = ANY ($3::uuid[]) OR e.incident_id = ANY ($4::uuid[]) OR e.id IN (SELECT id FROM cited)
             OR ($5 AND ($6::timestamptz IS NULL OR e.search_to >= $6)
                    AND ($7::timestamptz IS NULL OR e.search_from <= $7))
             OR ($5 AND e.declared_captured_at IS NOT NULL
                    AND ($6::timestamptz IS NULL OR e.declared_captured_at >= $6)
                    AND ($7::timestamptz IS NULL OR e.declared_captured_at <= $7)))
      ORDER BY e.received_at, e.id`,
    [caseId, whole, selection.evidenceIds ?? [], incidentIds, timed, from, to],
  );
  return { evidenceIds: evidenceRows.map((r) => r.id), incidentIds };
}
