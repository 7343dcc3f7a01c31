import { forbidden, notFound } from '#custodia/errors';
import type { Actor, Role } from './roles.js';

/**
 * The one place that says which role may do what (api.md, "Users, roles, cases"). Services,
 * listings' SQL and the custody log's visibility all read this table; nothing else names a role.
 *
 * A purpose is what a caller wants; its scope for a role is how far that reaches:
 * - `any`:    in every case, member or not (administrators);
 * - `member`: in the cases the caller belongs to;
 * - `own`:    in those cases, only what the caller submitted, reported or did;
 * - `none`:   never: 403, whatever the id (the route's guard refuses before looking anything up,
 *             so the refusal tells nothing about what exists).
 */
export type Scope = 'any' | 'member' | 'own' | 'none';

export const PURPOSES = [
  'case.create',
  'case.read',
  'case.members.read',
  'case.members.emails',
  'case.members.manage',
  'evidence.submit',
  'evidence.read',
  'evidence.content',
  'evidence.metadata',
  'evidence.annotate',
  'evidence.custody',
  'evidence.verify',
  'incident.report',
  'incident.read',
  'incident.write',
  'casualty.read',
  'casualty.names',
  'casualty.write',
  'damage.read',
  'damage.write',
  'remnant.report',
  'remnant.read',
  'remnant.write',
  'remnant.custody',
  'records.export',
  'export.create',
  'export.read',
  'export.download',
  'export.names',
  'log.events',
  'log.system',
  'users.manage',
  'vocabularies.read',
  'self',
] as const;
export type Purpose = (typeof PURPOSES)[number];

const ADMIN: Record<Purpose, Scope> = {
  'case.create': 'any',
  'case.read': 'any',
  'case.members.read': 'any',
  'case.members.emails': 'any',
  'case.members.manage': 'any',
  'evidence.submit': 'any',
  'evidence.read': 'any',
  'evidence.content': 'any',
  'evidence.metadata': 'any',
  'evidence.annotate': 'any',
  'evidence.custody': 'any',
  'evidence.verify': 'any',
  'incident.report': 'any',
  'incident.read': 'any',
  'incident.write': 'any',
  'casualty.read': 'any',
  // Victims' names: investigators of the case only, never administrators.
  'casualty.names': 'none',
  'casualty.write': 'any',
  'damage.read': 'any',
  'damage.write': 'any',
  'remnant.report': 'any',
  'remnant.read': 'any',
  'remnant.write': 'any',
  'remnant.custody': 'any',
  'records.export': 'any',
  'export.create': 'any',
  'export.read': 'any',
  'export.download': 'any',
  'export.names': 'none',
  'log.events': 'any',
  'log.system': 'any',
  'users.manage': 'any',
  'vocabularies.read': 'any',
  // The caller's own account: who they are, their password, device tokens and sessions.
  self: 'any',
};

const INVESTIGATOR: Record<Purpose, Scope> = {
  'case.create': 'any',
  'case.read': 'member',
  'case.members.read': 'member',
  'case.members.emails': 'member',
  'case.members.manage': 'member',
  'evidence.submit': 'member',
  'evidence.read': 'member',
  'evidence.content': 'member',
  'evidence.metadata': 'member',
  'evidence.annotate': 'member',
  'evidence.custody': 'member',
  'evidence.verify': 'member',
  'incident.report': 'member',
  'incident.read': 'member',
  'incident.write': 'member',
  'casualty.read': 'member',
  'casualty.names': 'member',
  'casualty.write': 'member',
  'damage.read': 'member',
  'damage.write': 'member',
  'remnant.report': 'member',
  'remnant.read': 'member',
  'remnant.write': 'member',
  // The physical object's chain of custody: who held it, where, from when.
  'remnant.custody': 'member',
  'records.export': 'member',
  'export.create': 'member',
  'export.read': 'member',
  'export.download': 'member',
  'export.names': 'member',
  'log.events': 'member',
  'log.system': 'none',
  'users.manage': 'none',
  // Controlled terms and their labels: no case's content, readable by every signed-in user.
  'vocabularies.read': 'any',
  self: 'any',
};

/** Submits evidence and reports incidents; reads only what they submitted or reported. */
const DOCUMENTER: Record<Purpose, Scope> = {
  ...mapScopes(INVESTIGATOR, 'none'),
  'case.read': 'member',
  'case.members.read': 'member',
  'evidence.submit': 'member',
  'evidence.read': 'own',
  'evidence.content': 'own',
  // The full tag list is for investigators (api.md); the record shows a documenter what was read.
  'evidence.custody': 'own',
  'evidence.verify': 'own',
  'incident.report': 'member',
  'incident.read': 'own',
  // A fragment they found, on an incident they reported: it starts as reported.
  'remnant.report': 'member',
  'remnant.read': 'own',
  'log.events': 'own',
  'vocabularies.read': 'any',
  self: 'any',
};

/** Reads the custody log, tree heads and verification results of their cases, never content. */
const AUDITOR: Record<Purpose, Scope> = {
  ...mapScopes(INVESTIGATOR, 'none'),
  'case.read': 'member',
  'case.members.read': 'member',
  'evidence.custody': 'member',
  'evidence.verify': 'member',
  // Where a remnant was held, by whom and from when; not the remnant's record.
  'remnant.custody': 'member',
  // That exports exist and when, never their content.
  'export.read': 'member',
  'log.events': 'member',
  'vocabularies.read': 'any',
  self: 'any',
};

function mapScopes(table: Record<Purpose, Scope>, scope: Scope): Record<Purpose, Scope> {
  return Object.fromEntries(Object.keys(table).map((purpose) => [purpose, scope])) as Record<Purpose, Scope>;
}

export const POLICY: Readonly<Record<Role, Readonly<Record<Purpose, Scope>>>> = {
  admin: ADMIN,
  investigator: INVESTIGATOR,
  documenter: DOCUMENTER,
  auditor: AUDITOR,
};

/** How far `purpose` reaches for `role`. */
export function scopeOf(role: Role, purpose: Purpose): Scope {
  return POLICY[role][purpose];
}

/** Whether `role` may do `purpose` at all (somewhere). */
export function may(role: Role, purpose: Purpose): boolean {
  return scopeOf(role, purpose) !== 'none';
}

/** The roles that may do `purpose` at all: what a route's `@Allow` names. */
export function rolesFor(purpose: Purpose): Role[] {
  return (Object.keys(POLICY) as Role[]).filter((role) => may(role, purpose));
}

/**
 * For listings: the submitter/reporter/actor id a query must be limited to (`own` scope), or
 * null when the caller sees everything of the case.
 */
export function ownerFilter(actor: Actor, purpose: Purpose): string | null {
  return scopeOf(actor.role, purpose) === 'own' ? actor.id : null;
}

/** What a refusal says, per purpose family. */
const REFUSALS: Partial<Record<Purpose, string>> = {
  'evidence.read': 'Auditors see the custody log and verification results of evidence, never its content',
  'evidence.content': 'Auditors see the custody log and verification results of evidence, never its content',
  'casualty.names': "Victims' names are shown to investigators of the case only",
  'export.names': "Victims' names are exported for investigators of the case only",
  'remnant.read': 'Auditors see the physical chain of custody of remnants (GET /remnants/:id/transfers), not their records',
};

/**
 * Refuses `purpose` on a thing of a case the caller may see: 403 when the role never may, 404
 * ("not found", learning nothing) when the scope is `own` and `ownerId` is someone else's.
 * Membership is the caller's business (a non-member gets 404 for the case first).
 */
export function assertMay(actor: Actor, purpose: Purpose, thing: { ownerId?: string | null; what?: string } = {}): void {
  const scope = scopeOf(actor.role, purpose);
  if (scope === 'none') throw forbidden(REFUSALS[purpose] ?? `The ${actor.role} role may not do this (${purpose})`);
  if (scope === 'own' && thing.ownerId !== undefined && thing.ownerId !== actor.id) throw notFound(thing.what ?? 'The item');
}
