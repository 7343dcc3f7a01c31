import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A time search also finds an item by its declared capture time when the file's own time says
 * otherwise (a camera clock left wrong): the declared time gets an index of its own beside the
 * searched interval's (case_id, search_from), so the two conditions are two index scans.
 */
export class DeclaredTimeIndex1764002300000 implements MigrationInterface {
  name = 'DeclaredTimeIndex1764002300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX evidence_items_declared_time_idx ON evidence_items (case_id, declared_captured_at) WHERE declared_captured_at IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX evidence_items_declared_time_idx`);
  }
}
