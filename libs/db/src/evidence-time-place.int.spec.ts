// Migration 1764000600000 on items received before it: the searched time, the declared offset
// and type_mismatch get the values the application gives new items.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBefore, withMigrations } from '../../../test/support/database.js';
import { MIGRATIONS } from './migrations/index.js';
import { EvidenceTimePlace1764000600000 } from './migrations/1764000600000-evidence-time-place.js';

describe('migration EvidenceTimePlace1764000600000 on existing items', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let client: pg.Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await databaseBefore(EvidenceTimePlace1764000600000);
    client = db.client;
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('m@x.test', 'm', 'investigator', 'x') RETURNING id`)).rows;
    const [kase] = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('before', $1) RETURNING id`, [user.id])).rows;
    // Rows as the application wrote them before the migration (captured_at: the file's instant, else the declared one).
    const rows: Array<[string, Record<string, unknown>]> = [
      ['instant', { extracted: { capturedAt: '2008-05-30T12:56:01.250Z', capturedAtOffset: '+03:00' }, declared: '2008-05-30T13:00:00Z', capturedAt: '2008-05-30T12:56:01.250Z' }],
      ['zoneless', { extracted: { capturedAt: '2008-05-30T15:56:01', capturedAtOffset: null }, declared: '2008-06-10T12:00:00Z', capturedAt: '2008-06-10T12:00:00Z' }],
      ['zonelessFraction', { extracted: { capturedAt: '2008-05-30T15:56:01.500', capturedAtOffset: null } }],
      ['garbage', { extracted: { capturedAt: '2008:05:30 nonsense', capturedAtOffset: null }, declared: '2001-01-01T00:00:00Z', capturedAt: '2001-01-01T00:00:00Z' }],
      ['declared', { extracted: null, declared: '2022-03-01T06:00:00Z', capturedAt: '2022-03-01T06:00:00Z' }],
      ['nothing', { extracted: { capturedAt: null, capturedAtOffset: null } }],
      ['jpegAsPng', { mediaType: 'image/png', declaredType: 'image/jpeg' }],
      ['jpgAlias', { mediaType: 'image/jpeg', declaredType: 'image/jpg' }],
      ['octet', { mediaType: 'image/jpeg', declaredType: 'application/octet-stream' }],
      ['movAsMp4', { mediaType: 'video/quicktime', declaredType: 'video/mp4' }],
    ];
    for (const [label, row] of rows) {
      const [inserted] = (
        await client.query(
          `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, declared_media_type, submitted_by, received_at,
             extracted, declared_captured_at, captured_at, processing)
           VALUES ($1, $2, 1, $3, $4, $5, '2026-01-01T00:00:00Z', $6, $7, $8, 'done') RETURNING id`,
          [
            kase.id, randomBytes(32).toString('hex'), row['mediaType'] ?? 'image/jpeg', row['declaredType'] ?? null, user.id,
            row['extracted'] === undefined ? null : JSON.stringify(row['extracted']), row['declared'] ?? null, row['capturedAt'] ?? null,
          ],
        )
      ).rows;
      ids[label] = inserted.id;
    }
    await withMigrations(db.url, MIGRATIONS, (migrating) => migrating.runMigrations({ transaction: 'each' }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const row = async (label: string) =>
    (
      await client.query(
        `SELECT captured_from, captured_to, search_from, search_to, declared_captured_offset, flags FROM evidence_items WHERE id = $1`,
        [ids[label]],
      )
    ).rows[0];

  it('the file instant, else the 26-hour window of a zone-less time, else the declared instant, else the receipt time', async () => {
    const at = (iso: string) => new Date(iso);
    expect(await row('instant')).toMatchObject({ captured_from: at('2008-05-30T12:56:01.250Z'), captured_to: at('2008-05-30T12:56:01.250Z') });
    // The zone-less window wins over the declaration (which contradicts it).
    expect(await row('zoneless')).toMatchObject({
      captured_from: at('2008-05-30T01:56:01Z'),
      captured_to: at('2008-05-31T03:56:01Z'),
      search_from: at('2008-05-30T01:56:01Z'),
      search_to: at('2008-05-31T03:56:01Z'),
    });
    expect(await row('zonelessFraction')).toMatchObject({ captured_from: at('2008-05-30T01:56:01.500Z'), captured_to: at('2008-05-31T03:56:01.500Z') });
    expect(await row('garbage')).toMatchObject({ captured_from: at('2001-01-01T00:00:00Z'), captured_to: at('2001-01-01T00:00:00Z') });
    expect(await row('declared')).toMatchObject({ captured_from: at('2022-03-01T06:00:00Z'), captured_to: at('2022-03-01T06:00:00Z') });
    expect(await row('nothing')).toMatchObject({
      captured_from: null,
      captured_to: null,
      search_from: at('2026-01-01T00:00:00Z'),
      search_to: at('2026-01-01T00:00:00Z'),
    });
  });

  it('the declared offset of items from before is unknown (null), and never changes afterwards', async () => {
    expect((await row('declared')).declared_captured_offset).toBeNull();
    await expect(client.query(`UPDATE evidence_items SET declared_captured_offset = '+02:00' WHERE id = $1`, [ids['declared']])).rejects.toThrow(
      /never changes/,
    );
  });

  it('flags type_mismatch where the declared type contradicts the sniffed one, and only there', async () => {
    expect((await row('jpegAsPng')).flags).toEqual(['type_mismatch']);
    for (const label of ['jpgAlias', 'octet', 'movAsMp4', 'instant']) expect((await row(label)).flags, label).toEqual([]);
  });

  it('indexes both positions and the searched time; the old coalesced indexes are gone', async () => {
    const indexes = (await client.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'evidence_items'`)).rows.map((r) => r.indexname);
    expect(indexes).toEqual(
      expect.arrayContaining(['evidence_items_search_time_idx', 'evidence_items_declared_position_idx', 'evidence_items_embedded_position_idx']),
    );
    expect(indexes).not.toContain('evidence_items_position_idx');
    expect(indexes).not.toContain('evidence_items_captured_idx');
  });
});
