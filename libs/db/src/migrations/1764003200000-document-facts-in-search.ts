import type { MigrationInterface, QueryRunner } from 'typeorm';
import { searchText } from '#custodia/search';
import { BATCH, recompute, str } from './1764000800000-word-forms.js';

/**
 * A document's title, author and last saver join the words an item is found by (evidence.service.ts
 * `evidenceSearchText`): a witness statement is looked for by who wrote it. The `search_text` of
 * items received before is made again from the same fields, with the application's folding, as
 * 1764000800000 does: title, description, tags, the original file name split at `. _ -`, then
 * `extracted.document`'s title, author and lastModifiedBy (absent on items read before
 * 2026-12-07: nothing). Rows whose text does not change are not written.
 */
export class DocumentFactsInSearch1764003200000 implements MigrationInterface {
  name = 'DocumentFactsInSearch1764003200000';

  async up(db: QueryRunner): Promise<void> {
    await recompute(db, {
      table: 'evidence_items',
      select: `SELECT id, title, description, tags, original_file_name, extracted -> 'document' ->> 'title' AS document_title,
                      extracted -> 'document' ->> 'author' AS document_author, extracted -> 'document' ->> 'lastModifiedBy' AS document_saver
                 FROM evidence_items WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
      text: (row) =>
        searchText(
          str(row['title']),
          str(row['description']),
          ...((row['tags'] as string[] | null) ?? []),
          str(row['original_file_name'])?.replace(/[._-]+/g, ' '),
          str(row['document_title']),
          str(row['document_author']),
          str(row['document_saver']),
        ),
    });
  }

  async down(): Promise<void> {
    // Nothing to undo: more words in search_text find more; an older release rewrites a row's text on its next change.
  }
}
