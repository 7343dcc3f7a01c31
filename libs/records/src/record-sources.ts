import type { EntityManager } from 'typeorm';
import type { FieldProblem } from '#custodia/errors';

/**
 * The problems of sources that are not evidence items of the case (a record cites only what its
 * case holds): one 422 problem per source, named `sources[i].evidenceId`.
 */
export async function sourceProblems(tx: EntityManager, caseId: string, sources: readonly { evidenceId: string }[], field = 'sources'): Promise<FieldProblem[]> {
  if (sources.length === 0) return [];
  const ids = sources.map((s) => s.evidenceId);
  const rows: { id: string }[] = await tx.query(`SELECT id FROM evidence_items WHERE case_id = $1 AND id = ANY ($2::uuid[])`, [caseId, ids]);
  const found = new Set(rows.map((r) => r.id));
  return ids.flatMap((id, i) => (found.has(id) ? [] : [{ field: `${field}[${i}].evidenceId`, message: 'is not an evidence item of this case' }]));
}

/**
 * Of `ids`, those the user did not submit: a caller whose reading of evidence is limited to
 * their own items (the policy's `own` scope) links only those, and learns nothing of others'.
 */
export async function notSubmittedBy(tx: EntityManager, ids: readonly string[], userId: string): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows: { id: string }[] = await tx.query(`SELECT id FROM evidence_items WHERE id = ANY ($1::uuid[]) AND submitted_by = $2`, [ids, userId]);
  const own = new Set(rows.map((r) => r.id));
  return new Set(ids.filter((id) => !own.has(id)));
}
