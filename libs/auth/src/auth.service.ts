import { Inject, Injectable } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { DomainError, notFound, unprocessable } from '#custodia/errors';
import { AccessTokenEntity, UserEntity } from './entities.js';
import type { Actor } from './roles.js';
import {
  dummyPasswordHash,
  hashBearerToken,
  looksLikeBearerToken,
  MAX_PASSWORD_LENGTH,
  newBearerToken,
  verifyPassword,
} from './secrets.js';
import { toUserView, type UserView } from './users.service.js';

export interface LoginResult {
  accessToken: string;
  expiresAt: string;
  user: Pick<UserView, 'id' | 'email' | 'displayName' | 'role'>;
}

export interface ApiTokenView {
  id: string;
  name: string;
  expiresAt: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const invalidCredentials = (): DomainError => new DomainError('unauthorized', 'The email or password is wrong');

@Injectable()
export class AuthService {
  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  /**
   * Exchanges an email and password for a session token. An unknown email costs the same
   * argon2 verification as a wrong password, and repeated failures per email or per client
   * address are refused with 429 before any password is checked.
   */
  async login(email: string, password: string, clientIp: string): Promise<LoginResult> {
    const emailKey = email.trim().toLowerCase();
    await this.refuseWhenThrottled(emailKey, clientIp);
    const user = await this.db
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('lower(u.email) = :emailKey', { emailKey })
      .getOne();
    const candidate = password.length <= MAX_PASSWORD_LENGTH ? password : '';
    const matches = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), candidate);
    if (!user || !matches || user.disabledAt) {
      await this.db.query(`INSERT INTO login_failures (email_key, client_ip) VALUES ($1, $2)`, [emailKey, clientIp]);
      throw invalidCredentials();
    }
    await this.db.query(`DELETE FROM login_failures WHERE email_key = $1`, [emailKey]);
    const { token, tokenHash } = newBearerToken();
    const expiresAt = new Date(Date.now() + this.config.sessionTtlSeconds * 1000);
    await this.db.getRepository(AccessTokenEntity).insert({ userId: user.id, kind: 'session', tokenHash, expiresAt });
    const { id, displayName, role } = toUserView(user);
    return { accessToken: token, expiresAt: expiresAt.toISOString(), user: { id, email: user.email, displayName, role } };
  }

  private async refuseWhenThrottled(emailKey: string, clientIp: string): Promise<void> {
    const windowSeconds = this.config.loginWindowSeconds;
    const [row] = await this.db.query(
      `SELECT
         count(*) FILTER (WHERE email_key = $1)::int AS by_email,
         count(*) FILTER (WHERE client_ip = $2)::int AS by_ip,
         ceil(extract(epoch FROM min(at) + make_interval(secs => $3) - now()))::int AS retry_after
       FROM login_failures
       WHERE (email_key = $1 OR client_ip = $2) AND at > now() - make_interval(secs => $3)`,
      [emailKey, clientIp, windowSeconds],
    );
    // One address may try a few accounts (a shared office NAT), but not spray many.
    const limit = this.config.loginMaxFailures;
    if (row.by_email >= limit || row.by_ip >= limit * 4) {
      throw new DomainError(
        'too_many_requests',
        'Too many failed logins; wait before trying again',
        [],
        Math.max(1, row.retry_after ?? windowSeconds),
      );
    }
  }

  /** Resolves a bearer token to its user; null when unknown, expired, revoked or disabled. */
  async authenticate(token: string): Promise<Actor | null> {
    if (!looksLikeBearerToken(token)) return null;
    // TypeORM answers an UPDATE with [rows, affected count].
    const [rows] = await this.db.query(
      `UPDATE access_tokens t SET last_used_at = now()
         FROM users u
        WHERE t.token_hash = $1 AND u.id = t.user_id
          AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL
        RETURNING t.id AS token_id, u.id, u.email, u.display_name, u.role`,
      [hashBearerToken(token)],
    );
    const row = rows[0];
    if (!row) return null;
    return { id: row.id, email: row.email, displayName: row.display_name, role: row.role, tokenId: row.token_id };
  }

  /** A long-lived token for a capture device, acting as its owner; returned once, stored hashed. */
  async createApiToken(actor: Actor, name: string, expiresAt?: Date): Promise<ApiTokenView & { token: string }> {
    const expiry = expiresAt ?? new Date(Date.now() + this.config.apiTokenDefaultTtlDays * 86_400_000);
    if (expiry.getTime() <= Date.now()) {
      throw unprocessable('The expiry lies in the past', [{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    const { token, tokenHash } = newBearerToken();
    const repo = this.db.getRepository(AccessTokenEntity);
    const inserted = await repo.insert({ userId: actor.id, kind: 'api', name, tokenHash, expiresAt: expiry });
    const saved = await repo.findOneByOrFail({ id: inserted.identifiers[0]!['id'] });
    return { ...toTokenView(saved), token };
  }

  async listApiTokens(actor: Actor): Promise<ApiTokenView[]> {
    const tokens = await this.db
      .getRepository(AccessTokenEntity)
      .find({ where: { userId: actor.id, kind: 'api' }, order: { createdAt: 'DESC' } });
    return tokens.map(toTokenView);
  }

  /** Revokes one of the caller's API tokens (an admin may revoke anyone's). */
  async revokeApiToken(actor: Actor, tokenId: string): Promise<void> {
    const where = actor.role === 'admin' ? { id: tokenId, kind: 'api' as const } : { id: tokenId, kind: 'api' as const, userId: actor.id };
    const result = await this.db
      .getRepository(AccessTokenEntity)
      .update({ ...where, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    if (!result.affected) {
      const exists = await this.db.getRepository(AccessTokenEntity).existsBy(where);
      if (!exists) throw notFound('The token');
    }
  }

  /** Ends the session whose token made this call. */
  async logout(actor: Actor): Promise<void> {
    await this.db.query(`UPDATE access_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [actor.tokenId]);
  }
}

function toTokenView(token: AccessTokenEntity): ApiTokenView {
  return {
    id: token.id,
    name: token.name ?? '',
    expiresAt: token.expiresAt.toISOString(),
    createdAt: token.createdAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}
