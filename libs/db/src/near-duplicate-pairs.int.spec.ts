// Migration 1764001700000 on photos processed before it: their near-duplicate pairs are made from
// the hashes already stored, both ways, within 16 bits and within a case only; then down and up.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBefore, withMigrations } from '../../../test/support/database.js';
import { MIGRATIONS } from './migrations/index.js';
import { NearDuplicatePairs1764001700000 } from './migrations/1764001700000-near-duplicate-pairs.js';

describe('migration NearDuplicatePairs1764001700000 on photos already processed', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let client: pg.Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await databaseBefore(NearDuplicatePairs1764001700000);
    client = db.client;
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('m@x.test', 'm', 'investigator', 'x') RETURNING id`)).rows;
    const cases = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('one', $1), ('two', $1) RETURNING id`, [user.id])).rows;
    // Hashes as the derivative job stored them (signed 64-bit).
    const photos: Array<[string, number, string | null]> = [
      ['a', 0, '0'],
      ['aCopy', 0, '3'], // 2 bits from a
      ['aFar', 0, '65535'], // 16 bits from a: kept
      ['aFarther', 0, '131071'], // 17 bits from a: not kept
      ['flat', 0, null], // no hash: no pairs
      ['otherCase', 1, '0'], // the same hash as a, in another case
    ];
    for (const [label, kase, hash] of photos) {
      const [row] = (
        await client.query(
          `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, processing, perceptual_hash)
           VALUES ($1, $2, 1, 'image/jpeg', $3, 'done', $4) RETURNING id`,
          [cases[kase].id, randomBytes(32).toString('hex'), user.id, hash],
        )
      ).rows;
      ids[label] = row.id;
    }
    await withMigrations(db.url, MIGRATIONS, (migrating) => migrating.runMigrations({ transaction: 'each' }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const pairs = async (): Promise<string[]> => {
    const label = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
    const { rows } = await client.query(`SELECT evidence_id, other_id, distance FROM evidence_near_duplicates`);
    return rows.map((r) => `${label.get(r.evidence_id)}-${label.get(r.other_id)}:${r.distance}`).sort();
  };

  it('keeps every pair within 16 bits in a case, both ways, and nothing else', async () => {
    expect(await pairs()).toEqual(
      ['a-aCopy:2', 'aCopy-a:2', 'a-aFar:16', 'aFar-a:16', 'aCopy-aFar:14', 'aFar-aCopy:14', 'aFarther-aFar:1', 'aFar-aFarther:1', 'aCopy-aFarther:15', 'aFarther-aCopy:15'].sort(),
    );
  });

  it('goes down and up again to the same pairs', async () => {
    const before = await pairs();
    await withMigrations(db.url, MIGRATIONS, async (migrating) => {
      await migrating.undoLastMigration({ transaction: 'each' });
      expect((await migrating.query(`SELECT to_regclass('evidence_near_duplicates') AS t`))[0].t).toBeNull();
      await migrating.runMigrations({ transaction: 'each' });
    });
    expect(await pairs()).toEqual(before);
  });
});
