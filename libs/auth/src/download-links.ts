import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { tooManyRequests } from '#custodia/errors';
import { actorOf, callerRevoked, callerTokenLive, type CallerRow } from './caller.js';
import type { Actor } from './roles.js';

/** How long a download link may wait before it is followed. */
export const DOWNLOAD_LINK_SECONDS = 60;
/** Links one user may have waiting at once, over all their tokens. */
export const DOWNLOAD_LINKS_PER_USER = 16;

const LINK_PREFIX = 'cdl_';

/** The link's own shape: never a bearer token (`cst_`), so neither is taken for the other. */
export function looksLikeDownloadLink(link: string): boolean {
  return /^cdl_[A-Za-z0-9_-]{43}$/.test(link);
}

const hashLink = (link: string): Buffer => createHash('sha256').update(link, 'utf8').digest();

interface RedeemedRow extends CallerRow {
  path: string;
  live: boolean;
}

/**
 * One-time download links: a browser follows a link to save a file straight to disk, and a link
 * cannot carry the Authorization header. A signed-in caller asks for a link to one download
 * route; following it within a minute acts as that caller, through the same token (revoked or
 * expired, the link is dead too). Only the link's SHA-256 is stored, and a link is deleted when
 * followed, so it opens one download.
 */
@Injectable()
export class DownloadLinks {
  constructor(private readonly db: DataSource) {}

  /** A new link to `path` (the route's whole path, `/api/v1/...`) for the caller's token. */
  async create(actor: Actor, path: string): Promise<{ link: string; expiresAt: Date }> {
    const link = LINK_PREFIX + randomBytes(32).toString('base64url');
    // The database's clock, which redeem() compares with (several instances' clocks may differ).
    return this.db.transaction(async (tx) => {
      // Followed or not, a link is gone a minute later: expired ones are removed as new ones come.
      await tx.query(`DELETE FROM download_links WHERE expires_at < now()`);
      // The user's row (held, so that two requests at once cannot both pass the count), then the
      // calling token's, in the order account changes lock them.
      const [user] = await tx.query(`SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL FOR UPDATE`, [actor.id]);
      if (!user || !(await callerTokenLive(tx, actor))) throw callerRevoked();
      const [{ waiting }] = (await tx.query(
        `SELECT count(*)::int AS waiting FROM download_links l JOIN access_tokens t ON t.id = l.access_token_id WHERE t.user_id = $1`,
        [actor.id],
      )) as [{ waiting: number }];
      if (waiting >= DOWNLOAD_LINKS_PER_USER) {
        throw tooManyRequests(`At most ${DOWNLOAD_LINKS_PER_USER} download links may wait at once; they last ${DOWNLOAD_LINK_SECONDS} s`, DOWNLOAD_LINK_SECONDS);
      }
      const [{ expires_at }] = (await tx.query(
        `INSERT INTO download_links (link_hash, access_token_id, path, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
        [hashLink(link), actor.tokenId, path, DOWNLOAD_LINK_SECONDS],
      )) as [{ expires_at: Date }];
      return { link, expiresAt: expires_at };
    });
  }

  /**
   * The caller a link acts for, when it is live, made for `path`, and its token and user still
   * are; null otherwise. The link is used up either way.
   */
  async redeem(link: string, path: string): Promise<Actor | null> {
    if (!looksLikeDownloadLink(link)) return null;
    const rows: RedeemedRow[] = await this.db.query(
      `WITH used AS (DELETE FROM download_links WHERE link_hash = $1 RETURNING access_token_id, path, expires_at)
       SELECT used.path, used.expires_at > now() AS live, t.id AS token_id,
              u.id, u.email, u.display_name, u.role, u.must_change_password, u.language
         FROM used JOIN access_tokens t ON t.id = used.access_token_id JOIN users u ON u.id = t.user_id
        WHERE t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL`,
      [hashLink(link)],
    );
    const row = rows[0];
    if (!row || !row.live || row.path !== path) return null;
    return actorOf(row);
  }
}
