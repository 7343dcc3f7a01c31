import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Resumable uploads are named by UUIDs, as every other identifier (api.md); their ids were 32 hex
 * digits. Uploads made before keep their ids and still finish, so both forms are allowed.
 */
export class UploadUuids1764001800000 implements MigrationInterface {
  name = 'UploadUuids1764001800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE uploads DROP CONSTRAINT uploads_id_check`);
    await db.query(`
      ALTER TABLE uploads ADD CONSTRAINT uploads_id_check
        CHECK (id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' OR id ~ '^[0-9a-f]{32}$')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE uploads DROP CONSTRAINT uploads_id_check`);
    await db.query(`ALTER TABLE uploads ADD CONSTRAINT uploads_id_check CHECK (id ~ '^[0-9a-f]{32}$') NOT VALID`);
  }
}
