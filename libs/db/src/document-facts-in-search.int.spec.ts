// Migration 1764003200000 on items received before it: a document's title, author and last saver join search_text.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchText } from '#custodia/search';
import { databaseBefore, withMigrations } from '../../../test/support/database.js';
import { MIGRATIONS } from './migrations/index.js';
import { DocumentFactsInSearch1764003200000 } from './migrations/1764003200000-document-facts-in-search.js';

describe('migration DocumentFactsInSearch1764003200000 on existing items', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let client: pg.Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await databaseBefore(DocumentFactsInSearch1764003200000);
    client = db.client;
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('d@x.test', 'd', 'investigator', 'x') RETURNING id`)).rows;
    const [kase] = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('before', $1) RETURNING id`, [user.id])).rows;
    // [title, tags, file name, extracted, search_text as the release before wrote it]
    const rows: Record<string, [string | null, string[], string | null, unknown, string]> = {
      statement: ['Statement 1', ['witness'], 'Свідчення_1.docx', { document: { title: 'Свідчення щодо удару', author: 'Олена Коваль', lastModifiedBy: 'Слідчий' } }, 'statement 1 witness свідчення 1 docx'],
      // Read before lastModifiedBy existed.
      olderPdf: [null, [], 'report.pdf', { document: { title: null, author: 'Оксана Коваленко' } }, 'report pdf'],
      photo: ['Уламки', [], 'IMG_1.jpg', { capturedAt: null }, 'уламк img 1 jpg'],
      nothing: [null, [], null, null, ''],
    };
    for (const [label, [title, tags, fileName, extracted, text]] of Object.entries(rows)) {
      const [inserted] = (
        await client.query(
          `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, title, tags, original_file_name, extracted, search_text, processing)
           VALUES ($1, $2, 1, 'application/octet-stream', $3, $4, $5, $6, $7, $8, 'done') RETURNING id`,
          [kase.id, randomBytes(32).toString('hex'), user.id, title, tags, fileName, extracted === null ? null : JSON.stringify(extracted), text],
        )
      ).rows;
      ids[label] = inserted.id;
    }
    await withMigrations(db.url, MIGRATIONS, (migrating) => migrating.runMigrations({ transaction: 'each' }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const text = async (label: string): Promise<string> => (await client.query(`SELECT search_text FROM evidence_items WHERE id = $1`, [ids[label]])).rows[0].search_text;
  const found = async (q: string): Promise<string[]> =>
    (await client.query(`SELECT id FROM evidence_items WHERE search @@ plainto_tsquery('simple', $1) ORDER BY id`, [searchText(q)])).rows.map((r: { id: string }) => r.id);

  it("adds a document's title, author and last saver, folded as the application folds them", async () => {
    expect(await text('statement')).toBe(searchText('Statement 1', 'witness', 'Свідчення 1 docx', 'Свідчення щодо удару', 'Олена Коваль', 'Слідчий'));
    expect(await found('Коваль')).toEqual([ids['statement']]);
    expect(await found('Слідчий')).toEqual([ids['statement']]);
    expect(await found('Коваленко')).toEqual([ids['olderPdf']]);
  });

  it('leaves the text of items that are no documents as it was', async () => {
    expect(await text('photo')).toBe(searchText('Уламки', 'IMG 1 jpg'));
    expect(await text('nothing')).toBe('');
  });
});
