import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CustodyLog, type CustodyEventInput } from '#custodia/custody';
import { SYSTEM_ACTOR } from '#custodia/custody-core';
import { conflict, notFound, unprocessable } from '#custodia/errors';
import { isUniqueViolation } from '#custodia/db';
import { AccessTokenEntity, UserEntity } from './entities.js';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordLength } from './secrets.js';
import { may, rolesFor } from './policy.js';
import { ROLES, type Actor, type Role } from './roles.js';
import type { RevokedTokens } from './auth.schema.js';
import { TokenCache } from './token-cache.js';
import { holdCaller } from './caller.js';

export interface NewUser {
  email: string;
  password: string;
  displayName: string;
  role: Role;
  /** The user must change this password before doing anything else. */
  mustChangePassword?: boolean;
}

/** What the API shows of a user: never the password hash. */
export interface UserView {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
  mustChangePassword: boolean;
}

/** An administrator's change to an account (`PATCH /users/:id`); the reason is required. */
export interface UserChange {
  displayName?: string;
  role?: Role;
  disabled?: boolean;
  reason?: string;
}

/** A session or device token as `GET /users/:id/tokens` shows it: never the secret or its hash. */
export interface TokenView {
  id: string;
  kind: 'session' | 'api';
  name: string | null;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/**
 * Who caused an account change, as the custody log records it: the administrator whose
 * request it was, or the archive itself (SYSTEM_ACTOR) for the CLI and the first administrator,
 * saying through which door (`via`).
 */
export type ChangedBy = Pick<Actor, 'id' | 'role'> | { id: 'system'; role: 'system'; via: 'cli' | 'first-admin' };

/** The system actor creating an account for the CLI's operator. */
export const CLI_ACTOR: ChangedBy = { ...SYSTEM_ACTOR, via: 'cli' };

export function toUserView(user: UserEntity): UserView {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    disabledAt: user.disabledAt?.toISOString() ?? null,
    mustChangePassword: user.mustChangePassword ?? false,
  };
}

/** 422 naming the field unless the password has an acceptable length. */
export function assertPasswordLength(field: string, password: string): void {
  if (passwordLength(password) < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw unprocessable('The password is too short or too long', [
      { field, message: `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long` },
    ]);
  }
}

/** The most live device tokens one user holds at once (a phone, a laptop, a partner tool each). */
export const MAX_LIVE_DEVICE_TOKENS = 100;
/** The most live sessions one account holds; a sign-in beyond it ends the oldest. */
export const MAX_LIVE_SESSIONS = 100;

/** An access token is live: neither revoked nor expired (SQL, on access_tokens). */
const LIVE = `revoked_at IS NULL AND expires_at > now()`;

/** How many live tokens of a kind the user holds. */
async function liveTokens(tx: EntityManager, userId: string, kind: 'session' | 'api'): Promise<number> {
  const [{ n }]: { n: number }[] = await tx.query(`SELECT count(*)::int AS n FROM access_tokens WHERE user_id = $1 AND kind = $2 AND ${LIVE}`, [userId, kind]);
  return n;
}

/** How many live sessions and how many ended (revoked or expired) tokens a listing shows at most. */
export const LISTED_TOKENS = { liveSessions: 100, ended: 100 } as const;

/** A token as the listings read it: never the secret or its hash. */
export type ListedToken = Pick<AccessTokenEntity, 'id' | 'kind' | 'name' | 'createdAt' | 'expiresAt' | 'revokedAt' | 'lastUsedAt'>;

/**
 * A user's tokens (device tokens only, or sessions too) as the listings show them, bounded
 * whatever years of sign-ins left: every live device token (at most MAX_LIVE_DEVICE_TOKENS),
 * the newest live sessions, each group newest first, then the tokens that ended last (revoked or
 * expired, latest end first).
 */
export async function listedTokens(db: DataSource, userId: string, kind?: 'api'): Promise<ListedToken[]> {
  const columns = `id, kind, name, created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"`;
  return db.query(
    `(SELECT ${columns}, 0 AS part, created_at AS at FROM access_tokens WHERE user_id = $1 AND kind = 'api' AND ${LIVE})
     UNION ALL
     (SELECT ${columns}, 1, created_at FROM access_tokens WHERE user_id = $1 AND kind = 'session' AND $2::text IS NULL AND ${LIVE}
       ORDER BY created_at DESC LIMIT ${LISTED_TOKENS.liveSessions})
     UNION ALL
     (SELECT ${columns}, 2, LEAST(revoked_at, expires_at) FROM access_tokens WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2) AND NOT (${LIVE})
       ORDER BY LEAST(revoked_at, expires_at) DESC LIMIT ${LISTED_TOKENS.ended})
     ORDER BY part, at DESC`,
    [userId, kind ?? null],
  );
}

/**
 * Refuses a new device token for a user who holds MAX_LIVE_DEVICE_TOKENS live ones (409). The
 * caller holds the user's row FOR UPDATE, so two requests at once cannot both take the last place.
 */
export async function assertRoomForDeviceToken(tx: EntityManager, userId: string): Promise<void> {
  const live = await liveTokens(tx, userId, 'api');
  if (live >= MAX_LIVE_DEVICE_TOKENS) {
    throw conflict(`The account holds ${live} live device tokens, the most at once: revoke one no longer in use (DELETE /auth/tokens/:id) first`);
  }
}

/**
 * Ends the account's oldest live sessions beyond MAX_LIVE_SESSIONS (the caller holds the row);
 * returns how many. Nothing is written when there are none, so a sign-in does not make every
 * process forget its cached tokens.
 */
export async function endOldestSessions(tx: EntityManager, userId: string): Promise<number> {
  const live = await liveTokens(tx, userId, 'session');
  if (live <= MAX_LIVE_SESSIONS) return 0;
  await tx.query(
    `UPDATE access_tokens SET revoked_at = now()
      WHERE id IN (SELECT id FROM access_tokens WHERE user_id = $1 AND kind = 'session' AND ${LIVE}
                    ORDER BY created_at DESC, id DESC OFFSET ${MAX_LIVE_SESSIONS})`,
    [userId],
  );
  return live - MAX_LIVE_SESSIONS;
}

/**
 * Revokes the user's live tokens of these kinds (but `exceptTokenId`) in the caller's
 * transaction; the next call with any of them answers 401.
 */
export async function revokeTokens(
  tx: EntityManager,
  userId: string,
  kinds: readonly ('session' | 'api')[],
  exceptTokenId?: string,
): Promise<{ session: number; api: number }> {
  // TypeORM answers an UPDATE with [rows, affected count].
  const [rows]: [{ kind: 'session' | 'api' }[], number] = await tx.query(
    `UPDATE access_tokens SET revoked_at = now()
      WHERE user_id = $1 AND kind = ANY ($2::text[]) AND ${LIVE}
        AND id IS DISTINCT FROM $3::uuid
      RETURNING kind`,
    [userId, kinds, exceptTokenId ?? null],
  );
  return { session: rows.filter((r) => r.kind === 'session').length, api: rows.filter((r) => r.kind === 'api').length };
}

/** The first account of an archive administers it: it creates everyone else. */
const FIRST_USER_ROLE: Role = 'admin';

// Serialises changes of accounts by administrators (one could leave the archive without an active one).
const ADMINS_LOCK = 'custodia.administrators';

const requireReason = (reason: string | undefined): string => {
  const text = reason?.trim();
  if (!text) throw unprocessable('Say why the account changes', [{ field: 'reason', message: 'is required' }]);
  return text;
};

/**
 * Changes of other people's accounts wait for each other (ADMINS_LOCK), then check that their
 * caller is still the administrator the request was let in as (holdCaller): two administrators
 * who disable, reset or revoke each other at once cannot both succeed.
 */
async function holdAdministrator(tx: EntityManager, actor: Actor): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ADMINS_LOCK]);
  await holdCaller(tx, actor);
}

/**
 * Accounts. Every change an administrator (or the user) makes is a system event of the
 * custody log (`caseId: null`, subject `{ type: "user", id }`), committed with the change;
 * details name what changed, never emails, names or secrets.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog = new CustodyLog(db),
    private readonly tokenCache?: TokenCache,
  ) {}

  /** Awaits a change to accounts or tokens, then empties this process's token cache. */
  private changingAccounts<T>(change: Promise<T>): Promise<T> {
    return this.tokenCache ? this.tokenCache.changing(change) : change;
  }

  /**
   * Creates an account, recorded as the system event `user.created`; the email is unique
   * without regard to case.
   */
  async create(input: NewUser, by: ChangedBy): Promise<UserView> {
    assertPasswordLength('password', input.password);
    if (!ROLES.includes(input.role)) {
      throw unprocessable('Unknown role', [{ field: 'role', message: `must be one of ${ROLES.join(', ')}` }]);
    }
    const passwordHash = await hashPassword(input.password);
    const mustChangePassword = input.mustChangePassword ?? false;
    try {
      return await this.db.transaction(async (tx) => {
        const [row]: { id: string }[] = await tx.query(
          `INSERT INTO users (email, display_name, role, password_hash, must_change_password) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [input.email.trim(), input.displayName.trim(), input.role, passwordHash, mustChangePassword],
        );
        await this.custody.append(tx, createdEvent(row!.id, input.role, mustChangePassword, by));
        return toUserView(await tx.getRepository(UserEntity).findOneByOrFail({ id: row!.id }));
      });
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw conflict('A user with this email already exists');
      throw error;
    }
  }

  async list(): Promise<UserView[]> {
    const users = await this.db.getRepository(UserEntity).find({ order: { createdAt: 'ASC' } });
    return users.map(toUserView);
  }

  async findById(id: string): Promise<UserView | null> {
    const user = await this.db.getRepository(UserEntity).findOneBy({ id });
    return user ? toUserView(user) : null;
  }

  /**
   * An administrator changes a user's display name, role or disabled state, saying why.
   * Disabling ends every session and device token of the user at once. A change that would
   * leave no active administrator is refused (409), as is disabling one's own account (422). Records `user.updated` (what changed; the
   * old and new role) and/or `user.disabled` (how many tokens ended), with the reason.
   */
  async update(actor: Actor, id: string, change: UserChange): Promise<UserView> {
    const reason = requireReason(change.reason);
    const displayName = change.displayName?.trim();
    if (displayName === '') throw unprocessable('The display name is empty', [{ field: 'displayName', message: 'must not be blank' }]);
    if (displayName === undefined && change.role === undefined && change.disabled === undefined) {
      throw unprocessable('Nothing to change', [{ field: 'body', message: 'name at least one of displayName, role, disabled' }]);
    }
    // Disabling oneself ends the session of this very call and leaves no one at the desk.
    if (actor.id === id && change.disabled === true) {
      throw unprocessable('An administrator cannot disable their own account; another administrator can', [{ field: 'disabled', message: 'must not be true for your own account' }]);
    }
    return this.changingAccounts(this.db.transaction(async (tx) => {
      await holdAdministrator(tx, actor);
      const [user]: { display_name: string; role: Role; disabled_at: Date | null }[] = await tx.query(
        `SELECT display_name, role, disabled_at FROM users WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!user) throw notFound('The user');
      const wasDisabled = user.disabled_at !== null;
      const role = change.role ?? user.role;
      const disabled = change.disabled ?? wasDisabled;
      const changed = [
        ...(displayName !== undefined && displayName !== user.display_name ? ['displayName'] : []),
        ...(role !== user.role ? ['role'] : []),
        ...(disabled !== wasDisabled ? ['disabled'] : []),
      ];
      if (changed.length > 0) {
        // Someone must still be able to manage accounts (policy.ts: the administrators).
        const managers = rolesFor('users.manage');
        if (managers.includes(user.role) && !wasDisabled && (!managers.includes(role) || disabled)) {
          const [{ others }] = await tx.query(
            `SELECT count(*)::int AS others FROM users WHERE role = ANY ($2::text[]) AND disabled_at IS NULL AND id <> $1`,
            [id, managers],
          );
          if (others === 0) {
            throw conflict(
              actor.id === id
                ? 'You are the last active administrator: make someone else an administrator first'
                : 'This would leave the archive without an active administrator',
            );
          }
        }
        await tx.query(
          `UPDATE users SET display_name = $2, role = $3,
                  disabled_at = CASE WHEN $4::boolean THEN COALESCE(disabled_at, now()) ELSE NULL END
            WHERE id = $1`,
          [id, displayName ?? user.display_name, role, disabled],
        );
        const disabling = disabled && !wasDisabled;
        const updated = changed.filter((field) => !(field === 'disabled' && disabling));
        const who = { id: actor.id, role: actor.role };
        if (updated.length > 0) {
          await this.custody.append(tx, {
            action: 'user.updated',
            actor: who,
            caseId: null,
            subject: { type: 'user', id },
            details: {
              changed: updated,
              ...(updated.includes('role') ? { role: { from: user.role, to: role } } : {}),
              ...(updated.includes('disabled') ? { disabled: { from: wasDisabled, to: disabled } } : {}),
            },
            reason,
          });
        }
        if (disabling) {
          const ended = await revokeTokens(tx, id, ['session', 'api']);
          await this.custody.append(tx, {
            action: 'user.disabled',
            actor: who,
            caseId: null,
            subject: { type: 'user', id },
            details: { sessionsEnded: ended.session, deviceTokensRevoked: ended.api },
            reason,
          });
        }
      }
      return toUserView(await tx.getRepository(UserEntity).findOneByOrFail({ id }));
    }));
  }

  /**
   * An administrator sets a user's password (`mustChange`: the user must change it before
   * anything else). The user's sessions end; device tokens stay unless revoked. Records
   * `user.password_set` (by admin, mustChange, sessions ended), never the password.
   */
  async setPassword(actor: Actor, id: string, password: string, mustChange = false): Promise<void> {
    assertPasswordLength('password', password);
    const passwordHash = await hashPassword(password);
    await this.changingAccounts(this.db.transaction(async (tx) => {
      await holdAdministrator(tx, actor);
      const [user] = await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
      if (!user) throw notFound('The user');
      await tx.query(`UPDATE users SET password_hash = $2, must_change_password = $3 WHERE id = $1`, [id, passwordHash, mustChange]);
      const ended = await revokeTokens(tx, id, ['session']);
      await this.custody.append(tx, {
        action: 'user.password_set',
        actor: { id: actor.id, role: actor.role },
        caseId: null,
        subject: { type: 'user', id },
        details: { by: 'admin', mustChange, sessionsEnded: ended.session },
      });
    }));
  }

  /** The user's sessions and device tokens as listedTokens gives them: for an administrator or the user (others: 404). */
  async tokens(actor: Actor, id: string): Promise<TokenView[]> {
    if (!may(actor.role, 'users.manage') && actor.id !== id) throw notFound('The user');
    if (!(await this.db.getRepository(UserEntity).existsBy({ id }))) throw notFound('The user');
    const tokens = await listedTokens(this.db, id);
    return tokens.map((token) => ({
      id: token.id,
      kind: token.kind,
      name: token.name,
      createdAt: token.createdAt.toISOString(),
      expiresAt: token.expiresAt.toISOString(),
      lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
      revokedAt: token.revokedAt?.toISOString() ?? null,
    }));
  }

  /**
   * Revokes every live session and device token of the user in one call (a documenter's phone
   * was seized). Records `tokens.revoked` with how many of each kind, and the reason if given.
   */
  async revokeAllTokens(actor: Actor, id: string, reason?: string): Promise<RevokedTokens> {
    return this.changingAccounts(this.db.transaction(async (tx) => {
      await holdAdministrator(tx, actor);
      const [user] = await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
      if (!user) throw notFound('The user');
      const ended = await revokeTokens(tx, id, ['session', 'api']);
      const kinds = [...(ended.session ? ['session'] : []), ...(ended.api ? ['api'] : [])];
      await this.custody.append(tx, {
        action: 'tokens.revoked',
        actor: { id: actor.id, role: actor.role },
        caseId: null,
        subject: { type: 'user', id },
        details: { sessions: ended.session, deviceTokens: ended.api, kinds },
        reason: reason?.trim() || null,
      });
      return { sessions: ended.session, deviceTokens: ended.api };
    }));
  }

  /**
   * Creates the first administrator when the database has no user yet, recorded as
   * `user.created` by the system. Several instances may start at once: the advisory lock makes
   * exactly one of them do it.
   */
  async ensureFirstAdmin(email: string, password: string): Promise<UserView | null> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['custodia.first-admin']);
      const [{ count }] = await tx.query('SELECT count(*)::int AS count FROM users');
      if (count > 0) return null;
      const passwordHash = await hashPassword(password);
      const [row] = await tx.query(
        `INSERT INTO users (email, display_name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING id`,
        [email, 'Administrator', FIRST_USER_ROLE, passwordHash],
      );
      await this.custody.append(tx, createdEvent(row.id, FIRST_USER_ROLE, false, { ...SYSTEM_ACTOR, via: 'first-admin' }));
      return toUserView(await tx.getRepository(UserEntity).findOneByOrFail({ id: row.id }));
    });
  }
}

/** `user.created`: the role, never the email, name or password. */
function createdEvent(userId: string, role: Role, mustChange: boolean, by: ChangedBy): CustodyEventInput {
  return {
    action: 'user.created',
    actor: { id: by.id, role: by.role },
    caseId: null,
    subject: { type: 'user', id: userId },
    details: { role, mustChange, ...('via' in by ? { via: by.via } : {}) },
  };
}
