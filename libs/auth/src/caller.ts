import type { EntityManager } from 'typeorm';
import { DomainError } from '#custodia/errors';
import type { Actor, InterfaceLanguage } from './roles.js';

export const callerRevoked = (): DomainError => new DomainError('unauthorized', 'The token of this call was revoked or its account disabled or changed');

/**
 * Whether the calling token is still live, read under a lock of its row: it was checked before
 * the request ran (or taken from the cache), and a token made in its name must not outlive a
 * revocation that committed since. Take the user's row first, in the order every revocation
 * locks them (user, then tokens).
 */
export async function callerTokenLive(tx: EntityManager, actor: Actor): Promise<boolean> {
  const [live] = await tx.query(`SELECT 1 FROM access_tokens WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() FOR SHARE`, [actor.tokenId]);
  return live !== undefined;
}

/**
 * Inside a write's transaction: the caller is still who the request was let in as (account
 * enabled, same role, token live), the user's and the token's rows held until it commits. A
 * revocation, a disable or a change of role (each locks the user's row first) that commits
 * meanwhile waits for the write; one that committed first refuses it (401). For writes that
 * outlast the check at their start: a submission of gigabytes streams for minutes.
 */
export async function holdCaller(tx: EntityManager, actor: Actor): Promise<void> {
  const [user]: { role: string }[] = await tx.query(`SELECT role FROM users WHERE id = $1 AND disabled_at IS NULL FOR SHARE`, [actor.id]);
  if (user?.role !== actor.role || !(await callerTokenLive(tx, actor))) throw callerRevoked();
}

/** A token's and its user's row, as `authenticate` and a download link read them. */
export interface CallerRow {
  token_id: string;
  id: string;
  email: string;
  display_name: string;
  role: Actor['role'];
  must_change_password: boolean;
  language: InterfaceLanguage | null;
}

export function actorOf(row: CallerRow): Actor {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    tokenId: row.token_id,
    mustChangePassword: row.must_change_password,
    language: row.language,
  };
}
