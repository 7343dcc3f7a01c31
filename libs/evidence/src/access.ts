import type { EntityManager } from 'typeorm';
import type { Actor } from '#custodia/auth';
import { forbidden, notFound } from '#custodia/errors';

/** What a caller wants to do with an evidence item; auditors may verify, never see content. */
export type EvidencePurpose = 'read' | 'content' | 'annotate' | 'custody' | 'verify';

/**
 * Whether `actor` may act on an item of `caseId` submitted by `submittedBy`. Non-members (and
 * documenters asking for others' items) learn nothing: "not found". Members whose role does not
 * allow the purpose get "forbidden".
 */
export async function assertEvidenceAccess(
  tx: EntityManager,
  actor: Actor,
  item: { caseId: string; submittedBy: string },
  purpose: EvidencePurpose,
): Promise<void> {
  if (actor.role !== 'admin') {
    const [member] = await tx.query(`SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2`, [item.caseId, actor.id]);
    if (!member) throw notFound('The evidence item');
    if (actor.role === 'documenter' && item.submittedBy !== actor.id) throw notFound('The evidence item');
  }
  const allowed: Record<Actor['role'], EvidencePurpose[]> = {
    admin: ['read', 'content', 'annotate', 'custody', 'verify'],
    investigator: ['read', 'content', 'annotate', 'custody', 'verify'],
    documenter: ['read', 'content', 'custody', 'verify'],
    auditor: ['custody', 'verify'],
  };
  if (!allowed[actor.role].includes(purpose)) {
    throw forbidden(
      actor.role === 'auditor'
        ? 'Auditors see the custody log and verification results of evidence, never its content'
        : `The ${actor.role} role may not ${purpose} evidence`,
    );
  }
}
