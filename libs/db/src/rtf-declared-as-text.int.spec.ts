// Migration 1764003100000 on items received before it: RTF declared text/rtf loses its type_mismatch, nothing else does.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBefore, withMigrations } from '../../../test/support/database.js';
import { MIGRATIONS } from './migrations/index.js';
import { RtfDeclaredAsText1764003100000 } from './migrations/1764003100000-rtf-declared-as-text.js';

describe('migration RtfDeclaredAsText1764003100000 on existing items', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let client: pg.Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await databaseBefore(RtfDeclaredAsText1764003100000);
    client = db.client;
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('r@x.test', 'r', 'investigator', 'x') RETURNING id`)).rows;
    const [kase] = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('before', $1) RETURNING id`, [user.id])).rows;
    // [sniffed, declared, flags as intake wrote them]
    const rows: Record<string, [string, string | null, string[]]> = {
      textRtf: ['application/rtf', 'text/rtf', ['type_mismatch', 'no_embedded_metadata']],
      withParameter: ['application/rtf', ' Text/RTF; charset=windows-1251', ['exact_duplicate', 'type_mismatch']],
      xRtf: ['application/rtf', 'application/x-rtf', ['type_mismatch']],
      msword: ['application/rtf', 'application/msword', ['type_mismatch']],
      pdfAsRtf: ['application/pdf', 'text/rtf', ['type_mismatch']],
      unflagged: ['application/rtf', 'text/rtf', ['no_embedded_metadata']],
    };
    for (const [label, [sniffed, declared, flags]] of Object.entries(rows)) {
      const [inserted] = (
        await client.query(
          `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, declared_media_type, submitted_by, flags, processing)
           VALUES ($1, $2, 1, $3, $4, $5, $6, 'done') RETURNING id`,
          [kase.id, randomBytes(32).toString('hex'), sniffed, declared, user.id, flags],
        )
      ).rows;
      ids[label] = inserted.id;
    }
    await withMigrations(db.url, MIGRATIONS, (migrating) => migrating.runMigrations({ transaction: 'each' }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const flags = async (label: string): Promise<string[]> => (await client.query(`SELECT flags FROM evidence_items WHERE id = $1`, [ids[label]])).rows[0].flags;

  it('drops type_mismatch from RTF declared text/rtf or application/x-rtf, keeping the other flags', async () => {
    expect(await flags('textRtf')).toEqual(['no_embedded_metadata']);
    expect(await flags('withParameter')).toEqual(['exact_duplicate']);
    expect(await flags('xRtf')).toEqual([]);
  });

  it('leaves every other item as it was', async () => {
    expect(await flags('msword')).toEqual(['type_mismatch']);
    expect(await flags('pdfAsRtf')).toEqual(['type_mismatch']);
    expect(await flags('unflagged')).toEqual(['no_embedded_metadata']);
  });
});
