import type { Actor } from '#custodia/auth';
import type { CasesService } from '#custodia/cases';
import type { EntityManager } from 'typeorm';
import { forbidden, notFound } from '#custodia/errors';

/** What a caller wants to do with a case's records. */
export type RecordPurpose = 'read' | 'report' | 'write';

/**
 * Whether `actor` may act on the records (incidents, casualties, damage) of `caseId`.
 * Non-members learn nothing (404). Auditors see the custody log and verification results,
 * never the records themselves (403): casualty records are personal data. Documenters read
 * the records of their cases (without names) and may report incidents; investigators and
 * administrators write.
 */
export async function assertRecordAccess(
  cases: CasesService,
  tx: EntityManager,
  actor: Actor,
  caseId: string,
  purpose: RecordPurpose,
  what = 'The case',
): Promise<void> {
  await cases.assertVisible(actor, caseId, tx).catch(() => {
    throw notFound(what);
  });
  if (actor.role === 'auditor') throw forbidden('Auditors see the custody log and verification results, never the records of a case');
  if (actor.role === 'documenter' && purpose === 'write') throw forbidden('Documenters report incidents; investigators edit records');
}

/** Names of victims are shown to investigators of the case only (membership is checked before). */
export const maySeeNames = (actor: Actor): boolean => actor.role === 'investigator';
