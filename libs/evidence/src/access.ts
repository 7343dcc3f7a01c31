import type { Actor } from '#custodia/auth';
import { forbidden, notFound } from '#custodia/errors';

/** What a caller wants to do with an evidence item; auditors may verify, never see content. */
export type EvidencePurpose = 'read' | 'content' | 'annotate' | 'custody' | 'verify';

const ALLOWED: Record<Actor['role'], EvidencePurpose[]> = {
  admin: ['read', 'content', 'annotate', 'custody', 'verify'],
  investigator: ['read', 'content', 'annotate', 'custody', 'verify'],
  documenter: ['read', 'content', 'custody', 'verify'],
  auditor: ['custody', 'verify'],
};

/**
 * Whether a caller who may see the item's case may act on it for `purpose`. A documenter asking
 * for someone else's item learns nothing ("not found"); a role that does not allow the purpose
 * gets "forbidden".
 */
export function assertEvidencePurpose(actor: Actor, item: { submittedBy: string }, purpose: EvidencePurpose): void {
  if (actor.role === 'documenter' && item.submittedBy !== actor.id) throw notFound('The evidence item');
  if (!ALLOWED[actor.role].includes(purpose)) {
    throw forbidden(
      actor.role === 'auditor'
        ? 'Auditors see the custody log and verification results of evidence, never its content'
        : `The ${actor.role} role may not ${purpose} evidence`,
    );
  }
}
