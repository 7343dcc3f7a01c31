import type { MigrationInterface, QueryRunner } from 'typeorm';
import { searchText } from '#custodia/search';

/** Rows read and written per statement: bounded memory and short row locks on large archives. */
export const BATCH = 1000;

/** A recomputation: which rows, and the new `search_text` of one of them. */
export interface Recompute {
  table: 'incidents' | 'evidence_items';
  /** Selects `id` and the fields the text is made of, for ids after $1, in id order. */
  select: string;
  text(row: Record<string, unknown>): string;
}

export const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The text of each table's rows, by a folding function: the same fields before and after this migration. */
function recomputations(fold: (...parts: (string | null | undefined)[]) => string): Recompute[] {
  return [
    {
      table: 'incidents',
      select: `SELECT id, record ->> 'title' AS title, record ->> 'description' AS description, record ->> 'placeName' AS place_name
                 FROM incidents WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
      text: (row) => fold(str(row['title']), str(row['description']), str(row['place_name'])),
    },
    {
      table: 'evidence_items',
      select: `SELECT id, title, description, tags, original_file_name
                 FROM evidence_items WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
      text: (row) =>
        fold(
          str(row['title']),
          str(row['description']),
          ...((row['tags'] as string[] | null) ?? []),
          str(row['original_file_name'])?.replace(/[._-]+/g, ' '),
        ),
    },
  ];
}

/**
 * Word forms in text search (issue 10, item 8): `search_text` of every incident and evidence
 * item is recomputed with the application's new folding, which stems Ukrainian and Russian
 * nouns and adjectives (`Салтівці` is stored as `салтівк`, as the query `Салтівка` is asked).
 * The `search` tsvector columns are generated from `search_text` and follow; their GIN indexes
 * stay as they are.
 *
 * The text is made by the application's own `searchText` (libs/search), not by a frozen copy:
 * what is stored must be what the running application's queries ask for. A later change of the
 * folding ships its own recomputation like this one; running this one with that later folding
 * on an old archive gives the same rows.
 *
 * - incidents: the record's title, description and place name (records.service.ts).
 * - evidence items: title, description, tags and original file name split at `. _ -`
 *   (evidence.service.ts `evidenceSearchText`).
 *
 * Rows are read by id in batches of 1000 and written with one UPDATE per batch; a row whose
 * text does not change is not written.
 */
export class WordForms1764000800000 implements MigrationInterface {
  name = 'WordForms1764000800000';

  async up(db: QueryRunner): Promise<void> {
    for (const step of recomputations(searchText)) await recompute(db, step);
  }

  /** Back to the folding before this migration (Unicode lower case only), frozen here. */
  async down(db: QueryRunner): Promise<void> {
    const lower = (...parts: (string | null | undefined)[]): string =>
      parts.filter((p): p is string => Boolean(p)).join(' ').normalize('NFC').toLowerCase();
    for (const step of recomputations(lower)) await recompute(db, step);
  }
}

export async function recompute(db: QueryRunner, { table, select, text }: Recompute): Promise<void> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows: Record<string, unknown>[] = await db.query(select, [after]);
    if (rows.length === 0) return;
    await db.query(
      `UPDATE ${table} t SET search_text = v.search_text
         FROM unnest($1::uuid[], $2::text[]) AS v(id, search_text)
        WHERE t.id = v.id AND t.search_text IS DISTINCT FROM v.search_text`,
      [rows.map((r) => r['id']), rows.map(text)],
    );
    after = rows[rows.length - 1]!['id'] as string;
  }
}
