import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search over evidence (title, description, tags, original file name) with the
 * `simple` configuration, so Ukrainian and Russian words are found as they are written. The
 * text is lower-cased by the application (see `searchText`): the C locale does not fold Cyrillic.
 */
export class EvidenceSearch1764000400000 implements MigrationInterface {
  name = 'EvidenceSearch1764000400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items ADD COLUMN search_text text NOT NULL DEFAULT ''`);
    await db.query(
      `ALTER TABLE evidence_items ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED`,
    );
    // Items from before this migration: lower() folds ASCII here; new items are folded fully.
    await db.query(
      `UPDATE evidence_items SET search_text = lower(concat_ws(' ', title, description, array_to_string(tags, ' '), original_file_name))`,
    );
    await db.query(`CREATE INDEX evidence_items_search_idx ON evidence_items USING gin (search)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items DROP COLUMN search, DROP COLUMN search_text`);
  }
}
