import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One-time download links (POST /download-links): a browser saves a court package or an original
 * straight to disk (it cannot send a bearer token when it follows a link). Only the link's
 * SHA-256 is kept; a link belongs to the token that made it (revoking the token ends it), names
 * one route, lasts a minute and is deleted when used.
 */
export class DownloadLinks1764002200000 implements MigrationInterface {
  name = 'DownloadLinks1764002200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE download_links (
        link_hash bytea PRIMARY KEY,
        access_token_id uuid NOT NULL REFERENCES access_tokens (id) ON DELETE CASCADE,
        path text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX download_links_token ON download_links (access_token_id, expires_at)`);
    await db.query(`CREATE INDEX download_links_expiry ON download_links (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE download_links`);
  }
}
