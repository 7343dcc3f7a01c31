import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resumable uploads (tus 1.0.0, issue 11). One row per upload, shared by every API instance:
 * who owns it (others get 404), its declared size and the device's hash, the tus server's own
 * record of it (`info`, its configstore), when it expires, the SHA-256 we computed when the last
 * byte arrived, and the evidence item it became. `evidence_id` is unique and set in the
 * evidence's own transaction, so an upload becomes evidence once. The bytes live in a file
 * beside the blob store (same filesystem, so finishing links them instead of copying).
 */
export class Uploads1764001000000 implements MigrationInterface {
  name = 'Uploads1764001000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE uploads (
        id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
        owner_id uuid NOT NULL REFERENCES users (id),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        file_name text,
        media_type text,
        declared_sha256 text CHECK (declared_sha256 ~ '^[0-9a-f]{64}$'),
        info jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        finished_at timestamptz,
        computed_sha256 text CHECK (computed_sha256 ~ '^[0-9a-f]{64}$'),
        evidence_id uuid UNIQUE REFERENCES evidence_items (id)
      )`);
    await db.query(`CREATE INDEX uploads_owner_open_idx ON uploads (owner_id) WHERE evidence_id IS NULL`);
    await db.query(`CREATE INDEX uploads_expiry_idx ON uploads (expires_at) WHERE evidence_id IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE uploads`);
  }
}
