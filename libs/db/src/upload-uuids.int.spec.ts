// Migration 1764001800000: uploads are named by UUIDs from now on; uploads made before it keep their
// 32-hex ids (and can still be finished); nothing else is an upload id.
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBefore, withMigrations } from '../../../test/support/database.js';
import { MIGRATIONS } from './migrations/index.js';
import { UploadUuids1764001800000 } from './migrations/1764001800000-upload-uuids.js';

describe('migration UploadUuids1764001800000', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let client: pg.Client;
  let owner: string;
  const legacy = randomBytes(16).toString('hex');
  const insert = (id: string) =>
    client.query(`INSERT INTO uploads (id, owner_id, size_bytes, expires_at) VALUES ($1, $2, 1, now() + interval '1 day')`, [id, owner]);

  beforeAll(async () => {
    db = await databaseBefore(UploadUuids1764001800000);
    client = db.client;
    owner = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('u@x.test', 'u', 'documenter', 'x') RETURNING id`)).rows[0].id;
    await insert(legacy);
    await expect(insert(randomUUID())).rejects.toThrow(/uploads_id_check/);
    await withMigrations(db.url, MIGRATIONS, (migrating) => migrating.runMigrations({ transaction: 'each' }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('keeps the uploads made before it and takes lowercase UUIDs, nothing else', async () => {
    expect((await client.query(`SELECT id FROM uploads`)).rows).toEqual([{ id: legacy }]);
    await insert(randomUUID());
    for (const id of [randomUUID().toUpperCase(), randomBytes(16).toString('hex').slice(0, 31), '../etc', `${randomUUID()}x`]) {
      await expect(insert(id), id).rejects.toThrow(/uploads_id_check/);
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM uploads`)).rows[0].n).toBe(2);
  });
});
