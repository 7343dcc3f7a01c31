import type { MigrationInterface, QueryRunner } from 'typeorm';
import { searchText } from '#custodia/search';
import { BATCH, recompute, str, type Recompute } from './1764000800000-word-forms.js';

/** Every incident's text, made by `fold` with or without its code. */
const incidents = (withCode: boolean): Recompute => ({
  table: 'incidents',
  select: `SELECT id, code, record ->> 'title' AS title, record ->> 'description' AS description, record ->> 'placeName' AS place_name
             FROM incidents WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
  text: (row) => searchText(withCode ? str(row['code']) : null, str(row['title']), str(row['description']), str(row['place_name'])),
});

/**
 * An incident is found by its code too (`INC-0012`, `KH/2025/7`, or `0012` alone): investigators
 * and partners cite incidents by code, and the listing's `q` only matched title, description and
 * place. The code's words join each incident's `search_text` (incidents.repository.ts does the
 * same for every write since); the generated `search` column and its GIN index follow.
 */
export class IncidentCodesInSearch1764002700000 implements MigrationInterface {
  name = 'IncidentCodesInSearch1764002700000';

  async up(db: QueryRunner): Promise<void> {
    await recompute(db, incidents(true));
  }

  async down(db: QueryRunner): Promise<void> {
    await recompute(db, incidents(false));
  }
}
