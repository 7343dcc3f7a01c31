import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fixity checks (issue 12): when each item's stored bytes were last re-hashed, and when that
 * check last failed (null once a later check passes again, e.g. after the blob was restored from
 * a backup). Neither column belongs to the original, so the `evidence_original_guard` trigger
 * lets them change. The index serves "never checked first, then oldest check first"; the partial
 * one lets `/health/ready` count the failing items without reading the table.
 */
export class Fixity1764001100000 implements MigrationInterface {
  name = 'Fixity1764001100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items ADD COLUMN fixity_checked_at timestamptz, ADD COLUMN fixity_failed_at timestamptz`);
    await db.query(`CREATE INDEX evidence_items_fixity_due_idx ON evidence_items (fixity_checked_at ASC NULLS FIRST, id)`);
    await db.query(`CREATE INDEX evidence_items_fixity_failed_idx ON evidence_items (fixity_failed_at) WHERE fixity_failed_at IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX evidence_items_fixity_failed_idx`);
    await db.query(`DROP INDEX evidence_items_fixity_due_idx`);
    await db.query(`ALTER TABLE evidence_items DROP COLUMN fixity_failed_at, DROP COLUMN fixity_checked_at`);
  }
}
