import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery } from '#custodia/db';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog } from '#custodia/custody';
import { conflict, DomainError, notFound, unprocessable } from '#custodia/errors';
import { AccessTokenEntity, UserEntity } from './entities.js';
import { LoginThrottle } from './login-throttle.js';
import { TokenCache } from './token-cache.js';
import { may } from './policy.js';
import { actorOf, callerRevoked, callerTokenLive, holdCaller, type CallerRow } from './caller.js';
import type { Actor, InterfaceLanguage } from './roles.js';
import {
  dummyPasswordHash,
  hashBearerToken,
  hashPassword,
  looksLikeBearerToken,
  MAX_PASSWORD_LENGTH,
  newBearerToken,
  verifyPassword,
} from './secrets.js';
import type { LoginResult } from './auth.schema.js';
import { assertPasswordLength, assertRoomForDeviceToken, endOldestSessions, listedTokens, revokeTokens, toUserView, type ListedToken } from './users.service.js';


export interface ApiTokenView {
  id: string;
  name: string;
  expiresAt: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What `authenticate` reads of a live token and its user. */
interface AuthenticatedRow extends CallerRow {
  last_used_at: Date | null;
  expires_at: Date;
}

const invalidCredentials = (): DomainError => new DomainError('unauthorized', 'The email or password is wrong');
@Injectable()
export class AuthService {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    private readonly custody: CustodyLog,
    private readonly tokens: TokenCache,
  ) {
    this.throttle = new LoginThrottle(db, {
      freeFailures: config.loginMaxFailures,
      maxDelaySeconds: config.loginWindowSeconds,
      addressFailures: config.loginMaxFailures * 4,
    });
  }

  /**
   * Exchanges an email and password for a session token. An unknown email costs the same
   * argon2 verification as a wrong password. Failures slow later attempts for that account
   * from that address, and from that address over all accounts (LoginThrottle): answered 429
   * with Retry-After before any password is checked.
   */
  async login(email: string, password: string, clientIp: string): Promise<LoginResult> {
    const emailKey = email.trim().toLowerCase();
    const attempt = await this.throttle.admit(emailKey, clientIp);
    const user = await this.db
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = :emailKey', { emailKey })
      .getOne();
    const candidate = password.length <= MAX_PASSWORD_LENGTH ? password : '';
    const matches = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), candidate);
    // The attempt admit() marked settles as a failure unless the password was right (a process
    // that dies first leaves it pending, which counts as a failure a minute later).
    if (!user || !matches || user.disabledAt) {
      await this.throttle.failed(attempt);
      throw invalidCredentials();
    }
    await this.throttle.succeeded(emailKey, clientIp, attempt);
    const { token, tokenHash } = newBearerToken();
    const expiresAt = new Date(Date.now() + this.config.sessionTtlSeconds * 1000);
    const opened = await this.db.transaction(async (tx) => {
      // The password was checked against a row read before argon2 ran: a reset, a disable or a
      // "sign out everywhere" that committed meanwhile (each locks the row first) must not be
      // followed by a session the old password opened.
      const [still]: { same: boolean }[] = await tx.query(
        `SELECT password_hash = $2 AS same FROM users WHERE id = $1 AND disabled_at IS NULL FOR SHARE`,
        [user.id, user.passwordHash],
      );
      if (!still?.same) return false;
      await tx.getRepository(AccessTokenEntity).insert({ userId: user.id, kind: 'session', tokenHash, expiresAt });
      return endOldestSessions(tx, user.id);
    });
    if (opened === false) throw invalidCredentials();
    // Sessions ended above: this process's cache forgets them now (others hear it from the database).
    if (opened > 0) this.tokens.forget();
    const { id, displayName, role, mustChangePassword } = toUserView(user);
    return {
      accessToken: token,
      expiresAt: expiresAt.toISOString(),
      user: { id, email: user.email, displayName, role, mustChangePassword, language: user.language ?? null },
    };
  }

  /**
   * The caller changes their own password. The current one is checked (and throttled) like a
   * login from the caller's address; a wrong one answers 422 naming `currentPassword`. The
   * user's other sessions end, the calling one stays; device tokens stay. Clears `mustChange`.
   */
  async changeOwnPassword(actor: Actor, currentPassword: string, newPassword: string, clientIp: string): Promise<void> {
    assertPasswordLength('newPassword', newPassword);
    const emailKey = actor.email.trim().toLowerCase();
    const attempt = await this.throttle.admit(emailKey, clientIp);
    const user = await this.db
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.id = :id', { id: actor.id })
      .getOne();
    const candidate = currentPassword.length <= MAX_PASSWORD_LENGTH ? currentPassword : '';
    if (!user || !(await verifyPassword(user.passwordHash, candidate))) {
      await this.throttle.failed(attempt);
      if (!user) throw new DomainError('unauthorized', 'The account no longer exists');
      throw unprocessable('The current password is wrong', [{ field: 'currentPassword', message: 'is not your current password' }]);
    }
    await this.throttle.succeeded(emailKey, clientIp, attempt);
    if (newPassword === currentPassword) {
      throw unprocessable('The new password is the current one', [{ field: 'newPassword', message: 'must differ from the current password' }]);
    }
    const passwordHash = await hashPassword(newPassword);
    await this.tokens.changing(this.db.transaction(async (tx) => {
      // Only over the password just checked: an administrator's reset (or another change) that
      // committed while argon2 ran is not silently undone.
      const [changed]: [unknown[], number] = await tx.query(
        `UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1 AND password_hash = $3 RETURNING 1`,
        [actor.id, passwordHash, user.passwordHash],
      );
      if (changed.length === 0) throw conflict('The password was changed meanwhile: sign in with the new one and try again');
      const ended = await revokeTokens(tx, actor.id, ['session'], actor.tokenId);
      await this.custody.append(tx, {
        action: 'user.password_set',
        actor: { id: actor.id, role: actor.role },
        caseId: null,
        subject: { type: 'user', id: actor.id },
        details: { by: 'self', mustChange: false, sessionsEnded: ended.session },
      });
    }));
  }

  /** Resolves a bearer token to its user; null when unknown, expired, revoked or disabled. */
  async authenticate(token: string): Promise<Actor | null> {
    if (!looksLikeBearerToken(token)) return null;
    const tokenHash = hashBearerToken(token);
    const cached = this.tokens.get(tokenHash);
    if (cached) return cached;
    const mark = this.tokens.mark();
    // A token's use is written at most once a minute (the cache asks again within one): a read
    // that writes nothing commits nothing (no WAL flush), so reads do not queue behind the disk.
    const rows = await preparedQuery<AuthenticatedRow>(
      this.db,
      'custodia_authenticate',
      `WITH found AS (
         SELECT t.id AS token_id, t.last_used_at, t.expires_at, u.id, u.email, u.display_name, u.role, u.must_change_password, u.language
           FROM access_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL
       ), touched AS (
         UPDATE access_tokens t SET last_used_at = now() FROM found f
          WHERE t.id = f.token_id AND (f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute')
       )
       SELECT * FROM found`,
      [tokenHash],
    );
    const row = rows[0];
    if (!row) return null;
    const actor = actorOf(row);
    this.tokens.put(tokenHash, actor, row.expires_at, mark);
    return actor;
  }

  /** The caller's own console language, remembered for their next sign-in on any device. */
  async setLanguage(actor: Actor, language: InterfaceLanguage): Promise<void> {
    await this.tokens.changing(this.db.query(`UPDATE users SET language = $2 WHERE id = $1`, [actor.id, language]));
  }

  /** A long-lived token for a capture device, acting as its owner; returned once, stored hashed. */
  async createApiToken(actor: Actor, name: string, expiresAt?: Date): Promise<ApiTokenView & { token: string }> {
    const expiry = this.apiTokenExpiry(expiresAt);
    const { token, tokenHash } = newBearerToken();
    return this.db.transaction(async (tx) => {
      // The row first, for update: the count of live tokens holds until this one is in.
      await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [actor.id]);
      await holdCaller(tx, actor);
      await assertRoomForDeviceToken(tx, actor.id);
      const repo = tx.getRepository(AccessTokenEntity);
      const inserted = await repo.insert({ userId: actor.id, kind: 'api', name, tokenHash, expiresAt: expiry });
      const saved = await repo.findOneByOrFail({ id: inserted.identifiers[0]!['id'] });
      return { ...toTokenView(saved), token };
    });
  }

  /**
   * An administrator issues a device token for another user (a phone handed out set up), acting
   * as that user: recorded as `tokens.created`, an account change, since whoever holds it acts in
   * the user's name. A disabled account gets none (409).
   */
  async issueApiToken(actor: Actor, userId: string, name: string, expiresAt?: Date): Promise<ApiTokenView & { token: string }> {
    const expiry = this.apiTokenExpiry(expiresAt);
    const { token, tokenHash } = newBearerToken();
    return this.db.transaction(async (tx) => {
      // Both accounts' rows, in one order (two administrators may issue tokens for each other at
      // once), then the administrator's own token, still live and still an administrator's.
      const rows: { id: string; role: Actor['role']; disabled_at: Date | null }[] = await tx.query(
        `SELECT id, role, disabled_at FROM users WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE`,
        [[...new Set([actor.id, userId])]],
      );
      const caller = rows.find((row) => row.id === actor.id);
      if (!caller || caller.disabled_at || !may(caller.role, 'users.manage') || !(await callerTokenLive(tx, actor))) throw callerRevoked();
      const user = rows.find((row) => row.id === userId);
      if (!user) throw notFound('The user');
      if (user.disabled_at) throw conflict('The account is disabled: enable it before issuing a token');
      await assertRoomForDeviceToken(tx, userId);
      const repo = tx.getRepository(AccessTokenEntity);
      const inserted = await repo.insert({ userId, kind: 'api', name, tokenHash, expiresAt: expiry });
      const saved = await repo.findOneByOrFail({ id: inserted.identifiers[0]!['id'] });
      await this.custody.append(tx, {
        action: 'tokens.created',
        actor: { id: actor.id, role: actor.role },
        caseId: null,
        subject: { type: 'user', id: userId },
        details: { kind: 'api', tokenId: saved.id, expiresAt: saved.expiresAt.toISOString() },
      });
      return { ...toTokenView(saved), token };
    });
  }

  private apiTokenExpiry(expiresAt?: Date): Date {
    const expiry = expiresAt ?? new Date(Date.now() + this.config.apiTokenDefaultTtlDays * 86_400_000);
    if (expiry.getTime() <= Date.now()) {
      throw unprocessable('The expiry lies in the past', [{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    return expiry;
  }

  async listApiTokens(actor: Actor): Promise<ApiTokenView[]> {
    return (await listedTokens(this.db, actor.id, 'api')).map(toTokenView);
  }

  /**
   * Revokes one of the caller's API tokens (an admin may revoke anyone's); recorded as
   * `tokens.revoked`, an account change.
   */
  async revokeApiToken(actor: Actor, tokenId: string): Promise<void> {
    await this.tokens.changing(this.db.transaction(async (tx) => {
      const [token]: { user_id: string; revoked_at: Date | null }[] = await tx.query(
        `SELECT user_id, revoked_at FROM access_tokens WHERE id = $1 AND kind = 'api' FOR UPDATE`,
        [tokenId],
      );
      if (!token || (!may(actor.role, 'users.manage') && token.user_id !== actor.id)) throw notFound('The token');
      if (token.revoked_at) return;
      await tx.query(`UPDATE access_tokens SET revoked_at = now() WHERE id = $1`, [tokenId]);
      await this.custody.append(tx, {
        action: 'tokens.revoked',
        actor: { id: actor.id, role: actor.role },
        caseId: null,
        subject: { type: 'user', id: token.user_id },
        details: { sessions: 0, deviceTokens: 1, kinds: ['api'], tokenId },
      });
    }));
  }

  /** Ends the session whose token made this call. */
  async logout(actor: Actor): Promise<void> {
    await this.tokens.changing(this.db.query(`UPDATE access_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [actor.tokenId]));
  }
}

function toTokenView(token: ListedToken): ApiTokenView {
  return {
    id: token.id,
    name: token.name ?? '',
    expiresAt: token.expiresAt.toISOString(),
    createdAt: token.createdAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}
